"""A2Perf quadruped locomotion: a Laikago imitating dog motion clips in PyBullet.

Importing this package is cheap; PyBullet is imported only when an environment is made.
"""

__version__ = "0.1.0"
