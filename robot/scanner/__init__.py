"""An emulated MR scanner bridge that talks to the robot like the real one (a client)."""

from robot.scanner.emulated import ZFRAME_IMAGE_NAME, EmulatedScanner

__all__ = ["ZFRAME_IMAGE_NAME", "EmulatedScanner"]
