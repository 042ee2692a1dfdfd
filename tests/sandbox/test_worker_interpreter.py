"""Each function's workers run on an interpreter of its configured runtime; none installed fails its deploy."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from components.bundling.interpreters import find_interpreter
from sandbox.aws import EmbeddedAws, embedded_aws
from sandbox.services import DeployError
from sandbox.services.lambda_ import check_runtime
from sandbox.workers import interpreter
from sandbox.workers.interpreter import RuntimeUnavailable, worker_python

HOST = f"python{sys.version_info[0]}.{sys.version_info[1]}"
HANDLER = "import sys, platform\n\ndef handler(event, context):\n    return {'version': platform.python_version()}\n"


def _nothing_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreter, "find_interpreter", lambda version: None)


def test_the_host_runtime_runs_on_this_interpreter() -> None:
    assert worker_python(HOST) == sys.executable


@pytest.mark.parametrize("version", [(3, 12), (3, 13)])
def test_another_runtime_runs_on_the_discovered_interpreter(version: tuple[int, int]) -> None:
    found = find_interpreter(version)
    if found is None:
        pytest.skip(f"no local python{version[0]}.{version[1]}")
    assert worker_python(f"python{version[0]}.{version[1]}") == found.path


def test_a_missing_interpreter_names_the_runtime_and_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _nothing_installed(monkeypatch)
    with pytest.raises(RuntimeUnavailable) as err:
        worker_python("python3.13")
    message = str(err.value)
    assert message.startswith("runtime python3.13: no local python3.13 found")
    assert "pyenv install 3.13" in message and "PATH" in message and f"set the function's runtime to {HOST}" in message


def test_non_python_runtimes_are_refused() -> None:
    with pytest.raises(RuntimeUnavailable, match=r"runtime nodejs20\.x: the embedded AWS runs Python runtimes only"):
        worker_python("nodejs20.x")


def _deployer(isolated: bool) -> SimpleNamespace:
    return SimpleNamespace(aws=SimpleNamespace(isolated=isolated))


def test_deploy_fails_without_the_runtimes_interpreter_instead_of_falling_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _nothing_installed(monkeypatch)
    res = SimpleNamespace(urn="urn:pulumi:dev::sciflow::aws:lambda/function:Function::job")
    with pytest.raises(DeployError, match=r"Function::job: runtime python3.13: no local python3.13 found"):
        check_runtime(_deployer(True), res, "python3.13")  # type: ignore[arg-type]
    check_runtime(_deployer(True), res, HOST)  # type: ignore[arg-type]


def test_in_process_runtime_refuses_a_runtime_other_than_the_hosts() -> None:
    res = SimpleNamespace(urn="urn:fn")
    other = "python3.12" if HOST != "python3.12" else "python3.13"
    with pytest.raises(DeployError, match=rf"runtime {other}: the in-process Lambda runtime is this {HOST}"):
        check_runtime(_deployer(False), res, other)  # type: ignore[arg-type]
    check_runtime(_deployer(False), res, HOST)  # type: ignore[arg-type]


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws("ap-south-1", isolated=True) as embedded:
        yield embedded


def test_a_python312_function_runs_on_python312(aws: EmbeddedAws) -> None:
    if find_interpreter((3, 12)) is None:
        pytest.skip("no local python3.12")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = aws.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))
    lam = aws.client("lambda")
    for runtime in ("python3.12", HOST):
        lam.create_function(FunctionName=f"fn-{runtime.replace('.', '')}", Runtime=runtime,
                            Role=role["Role"]["Arn"], Handler="app.handler", Code={"ZipFile": buffer.getvalue()})
    versions = {runtime: json.loads(lam.invoke(FunctionName=f"fn-{runtime.replace('.', '')}")["Payload"].read())
                for runtime in ("python3.12", HOST)}
    assert versions["python3.12"]["version"].startswith("3.12.")
    assert versions[HOST]["version"] == sys.version.split()[0]
