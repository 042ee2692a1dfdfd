"""sciflow: the stack's layers, scheduled computations and ETL pipelines, declared from typed stack config."""

import pulumi

from components.config import ConfigError, load
from components.stack import build_stack

try:
    config = load()
except ConfigError as err:  # a clean one-line error with the key path (the engine prints no traceback)
    raise pulumi.RunError(str(err)) from None
stack = build_stack(config, project=pulumi.get_project(), stack=pulumi.get_stack())
for key, value in stack.outputs().items():
    pulumi.export(key, value)
