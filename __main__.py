"""sciflow: the stack's layers, scheduled computations and ETL pipelines, declared from typed stack config."""

import pulumi

from components.config import load
from components.stack import build_stack

stack = build_stack(load(), project=pulumi.get_project(), stack=pulumi.get_stack())
for key, value in stack.outputs().items():
    pulumi.export(key, value)
