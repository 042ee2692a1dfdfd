"""Process-isolated Lambda runtime for the embedded AWS.

* :mod:`sandbox.workers.pool` — warm worker processes per function version; timeout, memory and concurrency
  enforced from the parent (``Sandbox.Timedout``, ``Runtime.OutOfMemory``, throttling);
* :mod:`sandbox.workers.bootstrap` — the runtime loop inside a worker (stdlib only, run by path);
* :mod:`sandbox.workers.runtime_sdk` — the runtime's own boto3 stack, the only host packages a worker sees.
"""
