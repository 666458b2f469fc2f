"""Hardware abstraction: serial transport, controller driver, axes and the firmware emulator."""

__all__: list[str] = []
