"""The ``mrbot`` command line: one module per subcommand, each exposing ``register``."""

__all__: list[str] = []
