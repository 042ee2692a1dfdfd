"""The embedded AWS's in-process Lambda runtime: code and layers from zips, env, context, errors, async."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.aws import PATCHED_SYMBOL, PINNED_MOTO, EmbeddedAws, SandboxError, embedded_aws

REGION = "ap-south-1"


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in sorted(files.items()):
            archive.writestr(name, text)
    return buffer.getvalue()


HANDLER = '''
import json, os, time
CALLS = []

def handler(event, context):
    CALLS.append(1)
    mode = event.get("mode")
    print("handling", mode)
    if mode == "raise":
        raise KeyError("missing column 'temp'")
    if mode == "sleep":
        time.sleep(float(event["seconds"]))
    if mode == "marshal":
        return {"value": {1, 2}}
    return {
        "env": os.environ.get("SAMPLE_SETTING"), "region": os.environ.get("AWS_REGION"),
        "calls": len(CALLS), "name": context.function_name, "version": context.function_version,
        "arn": context.invoked_function_arn, "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id, "log_group": context.log_group_name,
        "remaining": context.get_remaining_time_in_millis(), "file": __file__,
    }
'''


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    """The strict embedded AWS: IAM enforced, Lambda code in worker processes."""
    with embedded_aws(REGION, iam=True, isolated=True) as embedded:
        yield embedded


@pytest.fixture
def in_process_aws() -> Iterator[EmbeddedAws]:
    """The opt-in in-process runtime (``isolated=False``): handlers share this process, debuggers work."""
    with embedded_aws(REGION, isolated=False) as embedded:
        yield embedded


def allow(aws: EmbeddedAws, *statements: dict[str, Any]) -> None:
    """Grant the test functions' role these statements (IAM is enforced)."""
    role(aws)
    aws.client("iam").put_role_policy(RoleName="fn-role", PolicyName="fn-policy", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": list(statements)}))


def role(aws: EmbeddedAws) -> str:
    iam = aws.client("iam")
    try:
        return str(iam.get_role(RoleName="fn-role")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}
        return str(iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def state_machine_role(aws: EmbeddedAws, *statements: dict[str, Any]) -> str:
    """A role Step Functions may assume, granted ``statements`` (its service integrations run as it)."""
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "states.amazonaws.com"}}]}
    arn = str(iam.create_role(RoleName="sfn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    if statements:
        iam.put_role_policy(RoleName="sfn-role", PolicyName="sfn-policy", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    return arn


def create(aws: EmbeddedAws, name: str, files: dict[str, str], *, handler: str = "handlers.app.handler",
           env: dict[str, str] | None = None, layers: list[str] | None = None, timeout: int = 30,
           memory: int = 512) -> str:
    response = aws.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=role(aws), Handler=handler, Code={"ZipFile": zip_of(files)},
        Timeout=timeout, MemorySize=memory, Environment={"Variables": env or {}}, Layers=layers or [])
    return str(response["FunctionArn"])


def invoke(aws: EmbeddedAws, name: str, event: dict[str, Any]) -> tuple[str | None, Any]:
    response = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response.get("FunctionError"), json.loads(response["Payload"].read())


APP = {"handlers/__init__.py": "", "handlers/app.py": HANDLER}


def test_handler_runs_from_its_zip_with_env_and_context(aws: EmbeddedAws) -> None:
    arn = create(aws, "fn", APP, env={"SAMPLE_SETTING": "on"})
    error, payload = invoke(aws, "fn", {})
    assert error is None
    assert payload["env"] == "on" and payload["region"] == REGION
    assert payload["name"] == "fn" and payload["version"] == "$LATEST" and payload["arn"] == arn
    assert payload["memory"] == 512
    assert payload["log_group"] == "/aws/lambda/fn"
    assert 0 < payload["remaining"] <= 30_000
    assert payload["file"].endswith("handlers/app.py") and "sciflow-sandbox-" in payload["file"]


def test_environment_is_restored_after_the_call(aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMPLE_SETTING", "host-value")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    create(aws, "fn", APP, env={"SAMPLE_SETTING": "function-value"})
    assert invoke(aws, "fn", {})[1]["env"] == "function-value"
    assert os.environ["SAMPLE_SETTING"] == "host-value"
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def test_exception_becomes_an_unhandled_function_error(aws: EmbeddedAws) -> None:
    create(aws, "fn", APP)
    error, payload = invoke(aws, "fn", {"mode": "raise"})
    assert error == "Unhandled"
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == '"missing column \'temp\'"'
    assert payload["requestId"] == aws.invocations[-1].request_id
    assert any('File "/var/task/handlers/app.py"' in line for line in payload["stackTrace"])


@pytest.mark.parametrize(("files", "handler", "error_type", "message"), [
    ({"app.py": "import not_installed_anywhere\n"}, "app.handler", "Runtime.ImportModuleError",
     "Unable to import module 'app': No module named 'not_installed_anywhere'"),
    ({"app.py": "def other(event, context):\n    return 1\n"}, "app.handler", "Runtime.HandlerNotFound",
     "Handler 'handler' missing on module 'app'"),
    (APP, "handlers.app.handler", "Runtime.MarshalError", "Unable to marshal response"),
])
def test_runtime_errors_have_lambda_error_types(aws: EmbeddedAws, files: dict[str, str], handler: str,
                                                error_type: str, message: str) -> None:
    create(aws, "fn", files, handler=handler)
    error, payload = invoke(aws, "fn", {"mode": "marshal"})
    assert error == "Unhandled"
    assert payload["errorType"] == error_type
    assert payload["errorMessage"].startswith(message)


def test_run_longer_than_the_timeout_is_reported_as_timed_out(aws: EmbeddedAws) -> None:
    create(aws, "fn", APP, timeout=1)
    error, payload = invoke(aws, "fn", {"mode": "sleep", "seconds": 1.1})
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]


def test_functions_shipping_the_same_package_name_are_isolated(aws: EmbeddedAws) -> None:
    import handlers as repo_handlers  # the repo's own package must survive untouched

    for name, value in (("alpha", "A"), ("beta", "B")):
        create(aws, name, {"handlers/__init__.py": f"VALUE = {value!r}\n",
                           "handlers/app.py": "import handlers\n\ndef handler(event, context):\n"
                                              "    return handlers.VALUE\n"})
    assert invoke(aws, "alpha", {}) == (None, "A")
    assert invoke(aws, "beta", {}) == (None, "B")
    assert invoke(aws, "alpha", {}) == (None, "A")
    assert sys.modules["handlers"] is repo_handlers
    assert "handlers.app" not in sys.modules


def test_a_warm_function_keeps_module_state_but_another_function_has_its_own(aws: EmbeddedAws) -> None:
    create(aws, "one", APP)
    create(aws, "two", APP)
    assert [invoke(aws, "one", {})[1]["calls"] for _ in range(3)] == [1, 2, 3]
    assert invoke(aws, "two", {})[1]["calls"] == 1


def test_layers_are_on_sys_path_and_later_layers_win(aws: EmbeddedAws) -> None:
    lam = aws.client("lambda")
    arns = [lam.publish_layer_version(LayerName=f"layer-{tag}", Content={"ZipFile": zip_of({
        "python/layered.py": f"VALUE = {tag!r}\n", f"python/only_{tag}.py": "HERE = True\n"})})["LayerVersionArn"]
        for tag in ("first", "second")]
    create(aws, "fn", {"app.py": "import layered, only_first, only_second\n\n"
                                 "def handler(event, context):\n    return [layered.VALUE, layered.__file__]\n"},
           handler="app.handler", layers=arns)
    error, (value, origin) = invoke(aws, "fn", {})
    assert (error, value) == (None, "second")
    assert "/layers/" in origin


def destination_queue(aws: EmbeddedAws, name: str) -> tuple[str, str]:
    """A new queue the test functions' role may send to: (URL, ARN)."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    allow(aws, {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn})
    return url, arn


def test_async_failure_retries_then_sends_the_destination_record(aws: EmbeddedAws) -> None:
    arn = create(aws, "fn", APP)
    sqs = aws.client("sqs")
    queue_url, queue_arn = destination_queue(aws, "fn-dlq")
    lam = aws.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="fn", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    response = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"mode": "raise"}')
    assert response["StatusCode"] == 202
    assert [inv.attempt for inv in aws.invocations_of("fn")] == [1, 2]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    record = json.loads(messages[0]["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestPayload"] == {"mode": "raise"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "KeyError"


def test_async_success_goes_to_the_on_success_destination(aws: EmbeddedAws) -> None:
    create(aws, "fn", APP)
    sqs = aws.client("sqs")
    queue_url, queue_arn = destination_queue(aws, "fn-ok")
    aws.client("lambda").put_function_event_invoke_config(
        FunctionName="fn", DestinationConfig={"OnSuccess": {"Destination": queue_arn}})
    aws.client("lambda").invoke(FunctionName="fn", InvocationType="Event", Payload=b"{}")
    record = json.loads(sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert "functionError" not in record["responseContext"]
    assert record["responsePayload"]["name"] == "fn"


@pytest.mark.parametrize(("event", "error_type", "memory"), [
    ({"mode": "sleep", "seconds": 30}, "Sandbox.Timedout", 512),
    ({"mode": "allocate"}, "Runtime.OutOfMemory", 128),
])
def test_timeout_and_out_of_memory_take_the_async_retry_and_failure_destination_path(
        aws: EmbeddedAws, event: dict[str, Any], error_type: str, memory: int) -> None:
    """A handler past its timeout or memory size fails as on AWS, and retries/destination handle it."""
    files = {"handlers/__init__.py": "", "handlers/app.py": HANDLER.replace(
        '    if mode == "marshal":',
        '    if mode == "allocate":\n        block = bytearray(600 * 1024 * 1024)\n'
        '        block[::4096] = b"x" * len(block[::4096])\n    if mode == "marshal":')}
    create(aws, "fn", files, timeout=1, memory=memory)
    sqs = aws.client("sqs")
    queue_url, queue_arn = destination_queue(aws, "fn-failures")
    lam = aws.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="fn", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    response = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=json.dumps(event).encode())
    assert response["StatusCode"] == 202
    attempts = aws.invocations_of("fn")
    assert [(inv.attempt, inv.error_type) for inv in attempts] == [(1, error_type), (2, error_type)]
    [message] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorType"] == error_type


def test_invocation_logs_reach_cloudwatch_logs(aws: EmbeddedAws) -> None:
    create(aws, "fn", APP)
    invoke(aws, "fn", {"mode": "hello"})
    logs = aws.client("logs")
    stream = logs.describe_log_streams(logGroupName="/aws/lambda/fn")["logStreams"][0]["logStreamName"]
    assert "[$LATEST]" in stream
    messages = [e["message"] for e in logs.get_log_events(logGroupName="/aws/lambda/fn",
                                                          logStreamName=stream)["events"]]
    request_id = aws.invocations[-1].request_id
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "handling hello" in messages
    assert messages[-2] == f"END RequestId: {request_id}"
    assert messages[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")


def test_step_functions_map_runs_every_iteration_through_the_lambda(aws: EmbeddedAws) -> None:
    arn = create(aws, "fn", APP, env={"SAMPLE_SETTING": "mapped"})
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 4, "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": arn, "ResultSelector": {"env.$": "$.env"}, "End": True}}}}}}
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(name="map", definition=json.dumps(definition), roleArn=state_machine_role(
        aws, {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arn}))
    from sandbox.events import wait_execution

    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="map-1",
                                    input=json.dumps({"items": [{"i": i} for i in range(6)]}))["executionArn"]
    final = wait_execution(execution, timeout_s=120)
    assert final["status"] == "SUCCEEDED", final
    assert json.loads(final["output"]) == [{"env": "mapped"}] * 6
    assert len(aws.invocations_of("fn")) == 6


def test_one_embedded_aws_per_process() -> None:
    with embedded_aws(REGION), pytest.raises(SandboxError, match="already running"), embedded_aws(REGION):
        pass


def test_missing_patched_symbol_fails_with_the_pinned_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    monkeypatch.delattr(LambdaSimpleBackend, "invoke")
    with pytest.raises(SandboxError) as info, embedded_aws(REGION):
        pass
    assert PATCHED_SYMBOL in str(info.value)
    assert f"moto=={PINNED_MOTO}" in str(info.value)


def test_server_mode_and_in_process_mode_take_turns() -> None:
    from sandbox.server import start_server

    handle = start_server(0, REGION)
    try:
        with pytest.raises(SandboxError, match="already running"), embedded_aws(REGION):
            pass
    finally:
        handle.stop()
    with embedded_aws(REGION) as aws:
        assert aws.client("s3").list_buckets()["Buckets"] == []


def _bucket_with_policy(aws: EmbeddedAws, *statements: dict[str, Any]) -> Any:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="policy-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    resources = ["arn:aws:s3:::policy-bucket", "arn:aws:s3:::policy-bucket/*"]
    s3.put_bucket_policy(Bucket="policy-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": resources, **st} for st in statements]}))
    return s3


def put_allowed(s3: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.put_object(Bucket="policy-bucket", Key="k", Body=b"x")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied"  # as AWS answers (moto alone: an empty 403)
        return False
    return True


@pytest.mark.parametrize(("statement", "allowed"), [
    ({"Sid": "TlsOnly", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, True),
    ({"Sid": "DenyOverTls", "Condition": {"Bool": {"aws:SecureTransport": ["true"]}}}, False),
    ({"Sid": "Unconditional"}, False),
    # a put without the header: the key is missing, so the negated operator holds and the deny applies (as in AWS)
    ({"Sid": "RequireSseHeader", "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
     False),
    ({"Sid": "OtherAccountsOnly", "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}}, True),
])
def test_bucket_policy_conditions_on_secure_transport_are_evaluated(aws: EmbeddedAws, statement: dict[str, Any],
                                                                     allowed: bool) -> None:
    assert put_allowed(_bucket_with_policy(aws, statement)) is allowed


def test_drain_waits_for_running_executions(aws: EmbeddedAws) -> None:
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}}}
    machine = sfn.create_state_machine(name="pause", definition=json.dumps(definition), roleArn=role(aws))
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="p-1", input="{}")["executionArn"]
    assert aws.running_executions() == [arn]
    assert aws.drain(timeout_s=60) == []
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_layer_packages_shadowed_by_the_process_are_reported(in_process_aws: EmbeddedAws) -> None:
    aws = in_process_aws
    layer = aws.client("lambda").publish_layer_version(LayerName="shadowed", Content={"ZipFile": zip_of({
        "python/pytest/__init__.py": "LAYER = True\n"})})["LayerVersionArn"]
    create(aws, "fn", APP, layers=[layer])
    assert invoke(aws, "fn", {})[0] is None
    assert list(aws.shadowed_layer_packages) == ["pytest"]
    assert "already imported" in aws.shadowed_layer_packages["pytest"]


def test_isolated_workers_see_the_layer_copy_and_nothing_of_the_host(aws: EmbeddedAws) -> None:
    layer = aws.client("lambda").publish_layer_version(LayerName="own-pytest", Content={"ZipFile": zip_of({
        "python/pytest/__init__.py": "LAYER = True\n"})})["LayerVersionArn"]
    create(aws, "fn", {"app.py": "import pytest\n\ndef handler(event, context):\n"
                                 "    try:\n        import numpy\n    except ImportError:\n        numpy = None\n"
                                 "    return [pytest.LAYER, numpy is None]\n"}, handler="app.handler", layers=[layer])
    assert invoke(aws, "fn", {}) == (None, [True, True])
    assert aws.shadowed_layer_packages == {}


def test_state_machine_service_integrations_run_as_the_state_machine_role(aws: EmbeddedAws) -> None:
    iam = aws.client("iam")
    machine_role = state_machine_role(aws)
    aws.client("dynamodb").create_table(
        TableName="runs", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    definition = {"StartAt": "Put", "States": {"Put": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True,
        "Parameters": {"TableName": "runs", "Item": {"k": {"S": "1"}}}}}}
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(name="put", definition=json.dumps(definition),
                                       roleArn=machine_role)["stateMachineArn"]

    def run(name: str) -> dict[str, Any]:
        arn = sfn.start_execution(stateMachineArn=machine, name=name, input="{}")["executionArn"]
        assert aws.drain(timeout_s=60) == []
        return dict(sfn.describe_execution(executionArn=arn))

    denied = run("denied")
    assert denied["status"] == "FAILED"
    assert denied["error"] == "DynamoDB.AccessDeniedException"
    assert "assumed-role/sfn-role/" in denied["cause"] and "dynamodb:PutItem" in denied["cause"]
    iam.put_role_policy(RoleName="sfn-role", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem",
                                                "Resource": "arn:aws:dynamodb:*:*:table/runs"}]}))
    assert run("allowed")["status"] == "SUCCEEDED"
