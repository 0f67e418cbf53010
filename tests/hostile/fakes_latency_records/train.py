"""Nothing to train."""


def train():
    pass
