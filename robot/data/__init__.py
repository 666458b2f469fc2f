"""The shipped default robot configuration (data only)."""

__all__: list[str] = []
