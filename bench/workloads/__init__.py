"""Workloads that stand for a function: each file runs as ``__main__`` with only the layers on ``sys.path``."""
