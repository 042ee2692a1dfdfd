"""Process-isolated Lambda runtime for the embedded AWS.

* :mod:`sandbox.workers.pool` — warm worker processes per function version; timeout, memory and concurrency
  enforced from the parent (``Sandbox.Timedout``, ``Runtime.OutOfMemory``, throttling);
* :mod:`sandbox.workers.bootstrap` — the runtime loop inside a worker (stdlib only, run by path);
* :mod:`sandbox.workers.runtime_sdk` — the runtime's own boto3 stack, the only host packages a worker sees;
* :mod:`sandbox.workers.interpreter` — the local Python of each function's runtime (``python3.12`` runs on a
  3.12 found on PATH / pyenv / uv / ``py``; none installed fails the function's deploy, naming how to get one).
"""
