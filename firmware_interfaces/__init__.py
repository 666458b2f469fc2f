"""Wire protocol between mrbot and the motor-controller firmware: bytes in, messages out, no I/O."""

__all__: list[str] = []
