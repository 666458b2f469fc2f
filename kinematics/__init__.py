"""Pure math for needle robots: frames, robot models, IK/FK, trajectories, registration, Z-frame."""

__all__: list[str] = []
