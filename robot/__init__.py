"""Composition root: configuration, control loop, OpenIGTLink server, scanner bridge and the CLI."""

__all__: list[str] = []
