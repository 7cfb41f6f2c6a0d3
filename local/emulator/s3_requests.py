"""S3's REST calls, as the emulator's call log and faults see them (README.md, "S3").

moto serves S3 on the emulator's port already (signing name `s3`). Unlike the Query protocol
(an `Action` parameter) and the JSON protocol (`X-Amz-Target`), a REST call names its operation
by its method, its path and its query, as the S3 API's model declares each operation's
`http.method` and `http.requestUri` (e.g. GetObject `GET /{Bucket}/{Key+}`, ListObjectsV2
`GET /{Bucket}?list-type=2`). This module reads that model (botocore's, which moto depends on)
to name a call's operation and its parameters, and writes S3's error document for a fault.

- The bucket is the first segment of the path (path-style, `/bucket/key`), or the name before
  the host when the Host header is virtual-host style (`bucket.127.0.0.1:5000`, `bucket.localhost`),
  decided as moto decides it (`S3Response.subdomain_based_buckets`) so that the log names the
  bucket moto serves.
- The operation is the one whose method and path form (`/`, `/{Bucket}`, `/{Bucket}/{Key+}`)
  match, whose query literals (`?list-type=2`, `?uploads`, `?tagging`) are all present, and
  whose required query and header members (ListParts' `uploadId`, CopyObject's
  `x-amz-copy-source`) are there; the most specific wins, a deprecated one (GetBucketLifecycle)
  loses a tie. The `x-id` query parameter the AWS SDKs for Rust, Java and Go send for the
  operations that share a form (`?x-id=GetObject`) names it outright.
- The parameters are the operation's members bound to the URI (`Bucket`, `Key`), to the query
  (`VersionId`, `PartNumber`, `Prefix`, ...) and to headers (`IfMatch`, `Range`, `CopySource`,
  `Metadata` for `x-amz-meta-*`, ...), named as the API names them, values as sent. Never the
  body (the payload member: PutObject's Body, CreateBucket's configuration), and never a member
  the model marks sensitive (SSECustomerKey, SSEKMSKeyId, SSEKMSEncryptionContext).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import os
import types
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

# Defaults of an S3 fault that gives no status or message: AWS's status [Amazon S3 API
# Reference, "Error responses", List of error codes] and the message as S3 sends it
# [AccessDenied: cloudyr/aws.s3 #314; NoSuchKey: frostealth/yii2-aws-s3 #25; NoSuchBucket:
# awslabs/amazon-pollexy #7; SlowDown: MuckRock/documentcloud #222; InternalError:
# SlideRuleEarth/sliderule #454]. Other codes: status 400 and "injected <code>", as any fault.
ERRORS: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "SlowDown": (503, "Please reduce your request rate."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
}


@dataclasses.dataclass(frozen=True)
class Member:
    name: str          # the API's name: VersionId, IfMatch, Metadata
    location: str      # uri, querystring, header, headers (a prefix: x-amz-meta-)
    wire: str          # the query parameter or header: versionId, If-Match, x-amz-meta-
    required: bool


@dataclasses.dataclass(frozen=True)
class Operation:
    name: str
    method: str
    form: str                               # "/", "/{Bucket}", "/{Bucket}/{Key+}" or a literal path
    literals: tuple[tuple[str, str | None], ...]  # the query of the requestUri: (name, value or None)
    members: tuple[Member, ...]
    deprecated: bool

    def required_wire(self) -> list[Member]:
        return [m for m in self.members if m.required and m.location in ("querystring", "header")]


@functools.lru_cache(maxsize=1)
def operations() -> dict[str, Operation]:
    """Every S3 operation of botocore's model (the S3 API's), by name."""
    import botocore.session  # moto depends on it

    model = botocore.session.Session().get_service_model("s3")
    found: dict[str, Operation] = {}
    for name in model.operation_names:
        op = model.operation_model(name)
        path, _, query = op.http["requestUri"].partition("?")
        literals = []
        for part in filter(None, query.split("&")):
            key, _, value = part.partition("=")
            literals.append((key, value or None))
        members = []
        shape = op.input_shape
        if shape is not None:
            payload = shape.serialization.get("payload")
            for member_name, member in shape.members.items():
                location = member.serialization.get("location")
                if member_name == payload or location is None or member.metadata.get("sensitive"):
                    continue
                members.append(Member(member_name, location, member.serialization.get("name", member_name),
                                      member_name in shape.required_members))
        found[name] = Operation(name, op.http["method"], path, tuple(literals), tuple(members), bool(op.deprecated))
    return found


def is_s3_action(action: str) -> bool:
    return action in operations()


@dataclasses.dataclass
class S3Call:
    action: str | None      # None: no S3 operation has this form
    bucket: str | None
    key: str | None
    params: dict[str, Any]  # what the call log shows


def _header(environ: dict, name: str) -> str | None:
    key = name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return environ.get(key) or None
    return environ.get(f"HTTP_{key}")


def _virtual_host(host: str) -> bool:
    from moto.s3.responses import S3Response

    return bool(S3Response.subdomain_based_buckets(types.SimpleNamespace(headers={"host": host}, url=f"http://{host}/")))


def _path_of(environ: dict) -> str:
    """The request's path, percent-decoded once, as S3 reads a key (`a%2Bb` is `a+b`; `+` is `+`)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return unquote(urlsplit(raw).path or "/")
    # PATH_INFO is decoded already, as Latin-1 by WSGI.
    return environ.get("PATH_INFO", "/").encode("latin-1", "replace").decode("utf-8", "replace") or "/"


def parse(environ: dict) -> S3Call:
    """The S3 operation a signed S3 request calls, with its bucket, key and parameters."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = _path_of(environ)
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    host = environ.get("HTTP_HOST", "")
    if host and _virtual_host(host):
        from moto.s3.utils import bucket_name_from_url

        bucket = bucket_name_from_url(f"http://{host}/") or None
        key = path[1:] or None
    else:
        bucket, _, key = path[1:].partition("/")
        bucket, key = bucket or None, key or None
    if bucket is None:
        form = path if path not in ("", "/") else "/"
        if form != "/" and form not in {op.form for op in operations().values()}:
            form = "/"
    else:
        form = "/{Bucket}/{Key+}" if key is not None else "/{Bucket}"

    def present(member: Member) -> bool:
        if member.location == "querystring":
            return member.wire in query
        return _header(environ, member.wire) is not None

    candidates = []
    for op in operations().values():
        if op.method != method or op.form != form:
            continue
        if any(k not in query or (v is not None and query[k][0] != v) for k, v in op.literals):
            continue
        required = op.required_wire()
        if not all(present(m) for m in required):
            continue
        candidates.append(((len(op.literals), len(required), not op.deprecated), op))
    named = (query.get("x-id") or [None])[0]
    chosen = next((op for _, op in candidates if op.name == named), None)
    if chosen is None and candidates:
        best = max(score for score, _ in candidates)
        chosen = next(op for score, op in candidates if score == best)
    params: dict[str, Any] = {}
    if bucket is not None:
        params["Bucket"] = bucket
    if key is not None:
        params["Key"] = key
    if chosen is not None:
        for member in chosen.members:
            if member.location == "querystring" and member.wire in query:
                params[member.name] = query[member.wire][0]
            elif member.location == "header":
                value = _header(environ, member.wire)
                if value is not None:
                    params[member.name] = value
            elif member.location == "headers":
                prefix = "HTTP_" + member.wire.upper().replace("-", "_")
                found = {k[len(prefix):].lower().replace("_", "-"): v for k, v in environ.items()
                         if k.startswith(prefix) and isinstance(v, str)}
                if found:
                    params[member.name] = found
    return S3Call(chosen.name if chosen else None, bucket, key, params)


def request_id() -> str:
    """An S3 request id (16 upper-case hexadecimal characters, as S3's `x-amz-request-id`)."""
    return uuid.uuid4().hex[:16].upper()


def error_response(fault: dict, call: S3Call, method: str) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """S3's REST error: the status, `Content-Type: application/xml`, `x-amz-request-id` and
    `x-amz-id-2`, and the `<Error>` document at the root (no `ErrorResponse` wrapper, which is
    what aws-sdk-s3 parses: rest_xml_unwrapped_errors); a HEAD answer has no body, as S3's (the
    SDKs then know the error only by its status: 404 is NotFound)."""
    rid, host_id = request_id(), base64.b64encode(os.urandom(48)).decode()
    status = f"{int(fault['status'])} Injected"
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", rid), ("x-amz-id-2", host_id)]
    if method == "HEAD":
        return status, headers, []
    extra = ""
    if fault["code"] == "NoSuchKey" and call.key is not None:
        extra = f"<Key>{escape(call.key)}</Key>"
    elif fault["code"] == "NoSuchBucket" and call.bucket is not None:
        extra = f"<BucketName>{escape(call.bucket)}</BucketName>"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(fault['code'])}</Code><Message>{escape(fault['message'])}</Message>{extra}"
        f"<RequestId>{rid}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()
    return status, headers + [("Content-Length", str(len(body)))], [body]


# Calls that name no existing bucket of a region: not redirected.
NOT_REDIRECTED = {"CreateBucket", "ListBuckets", "ListDirectoryBuckets", "WriteGetObjectResponse"}
REDIRECT_MESSAGE = ("The bucket you are attempting to access must be addressed using the specified endpoint. "
                    "Please send all future requests to this endpoint.")


def bucket_region(call: S3Call, account: str) -> str | None:
    """The region of the bucket a call names, if moto has it (and the call is not one that
    names no existing bucket: CreateBucket, ListBuckets)."""
    if call.bucket is None or call.action is None or call.action in NOT_REDIRECTED:
        return None
    from moto.s3.models import s3_backends

    bucket = s3_backends[account]["aws"].buckets.get(call.bucket)
    return None if bucket is None else bucket.region_name


def redirect_response(call: S3Call, region: str, method: str) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """S3's answer to a call signed for a region other than its bucket's, which the SDKs send
    to that region's endpoint: 301 PermanentRedirect with the bucket's region in
    `x-amz-bucket-region`, and for HEAD no body [yanganto/s3rs #18 (the answer, headers and
    body, to a us-east-1 client for a bucket of ap-northeast-1), aptly-dev/aptly #209 (HEAD: a
    301 alone)]. moto serves the bucket whatever the region."""
    rid, host_id = request_id(), base64.b64encode(os.urandom(48)).decode()
    headers = [("Content-Type", "application/xml"), ("x-amz-bucket-region", region),
               ("x-amz-request-id", rid), ("x-amz-id-2", host_id)]
    if method == "HEAD":
        return "301 Moved Permanently", headers, []
    endpoint = f"{call.bucket}.s3.amazonaws.com" if region == "us-east-1" else f"{call.bucket}.s3.{region}.amazonaws.com"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>PermanentRedirect</Code><Message>{REDIRECT_MESSAGE}</Message>"
        f"<Endpoint>{escape(endpoint)}</Endpoint><Bucket>{escape(call.bucket or '')}</Bucket>"
        f"<RequestId>{rid}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()
    return "301 Moved Permanently", headers + [("Content-Length", str(len(body)))], [body]


def is_s3_request(environ: dict, service: str | None) -> bool:
    """A request moto serves as S3: signed for `s3`, and not S3 Control's (`/v20180820/...`,
    which moto routes to s3control)."""
    if service != "s3":
        return False
    path = environ.get("PATH_INFO", "")
    return not path.startswith("/v20180820/") and "s3-control" not in environ.get("HTTP_HOST", "")

