"""The landing zone: where source files are delivered, a local folder or an S3 prefix.

Keys are always relative to the zone's root and use "/" (``orders/landing/orders_2025_07_01.csv``),
whichever the backend, and listings come back in key order, page by page, optionally
starting after a key, as S3 lists them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from atliqon_platform.settings import ConfigurationError, Settings

if TYPE_CHECKING:
    from botocore.client import BaseClient


class LandingObjectMissing(FileNotFoundError):
    """A key that was listed but is gone when read (deleted or replaced meanwhile)."""


@dataclass(frozen=True)
class LandingObject:
    key: str
    size: int
    modified: dt.datetime
    version: str  # changes when the content changes: S3 ETag, local content hash


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, f"{prefix.strip('/')}/" if prefix.strip("/") else ""


class LandingZoneResource(ConfigurableResource):
    """List, read and write files under ``uri`` (a folder, or s3://bucket/prefix)."""

    uri: str
    endpoint_url: str | None = None
    region_name: str | None = None
    page_size: int = 1000  # keys per S3 listing request
    _client: object | None = PrivateAttr(default=None)

    @classmethod
    def for_settings(cls, settings: Settings) -> LandingZoneResource:
        """The landing zone the environment names."""
        return cls(
            uri=settings.landing_uri, endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region
        )

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def s3_client(self) -> BaseClient:
        if self._client is None:
            # Imported for an S3 zone only: dagster-aws takes half a second to import, which every
            # process that loads the code location (each run among them) would pay otherwise.
            from dagster_aws.s3 import S3Resource

            self._client = S3Resource(
                endpoint_url=self.endpoint_url, region_name=self.region_name
            ).get_client()
        return self._client

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[LandingObject]:
        """Objects under ``prefix`` in key order, after ``start_after`` when given."""
        if self.is_s3:
            yield from self._list_s3(prefix, start_after)
        else:
            yield from self._list_local(prefix, start_after)

    def _list_s3(self, prefix: str, start_after: str | None) -> Iterator[LandingObject]:
        bucket, root = _split_s3(self.uri)
        arguments = {"Bucket": bucket, "Prefix": root + prefix, "MaxKeys": self.page_size}
        if start_after:
            arguments["StartAfter"] = root + start_after
        while True:
            page = self.s3_client.list_objects_v2(**arguments)
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue  # a "directory" placeholder object
                yield LandingObject(
                    key=item["Key"][len(root) :],
                    size=item["Size"],
                    modified=item["LastModified"],
                    version=item["ETag"].strip('"'),
                )
            if not page.get("IsTruncated"):
                return
            arguments["ContinuationToken"] = page["NextContinuationToken"]
            arguments.pop("StartAfter", None)

    def _list_local(self, prefix: str, start_after: str | None) -> Iterator[LandingObject]:
        root = Path(self.uri)
        folder = root / prefix.rpartition("/")[0]  # walk only the prefix's folder, not the whole zone
        if not folder.is_dir():
            return
        keys = sorted(
            path.relative_to(root).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".")  # skip hidden and .part files
        )
        for key in keys:
            if not key.startswith(prefix) or (start_after is not None and key <= start_after):
                continue
            path = root / key
            try:
                stat = path.stat()
                digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            except FileNotFoundError:
                continue  # removed between the walk and now
            yield LandingObject(
                key=key,
                size=stat.st_size,
                modified=dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC),
                version=digest,
            )

    def read(self, key: str) -> bytes:
        if self.is_s3:
            bucket, root = _split_s3(self.uri)
            try:
                return self.s3_client.get_object(Bucket=bucket, Key=root + key)["Body"].read()
            except self.s3_client.exceptions.NoSuchKey:
                raise LandingObjectMissing(f"{self.uri}/{key} is gone (listed, then deleted)") from None
        try:
            return (Path(self.uri) / key).read_bytes()
        except FileNotFoundError:
            raise LandingObjectMissing(f"{self.uri}/{key} is gone (listed, then deleted)") from None

    def write(self, key: str, data: bytes) -> None:
        if self.is_s3:
            bucket, root = _split_s3(self.uri)
            self.s3_client.put_object(Bucket=bucket, Key=root + key, Body=data)
            return
        path = Path(self.uri) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.part")
        temporary.write_bytes(data)
        temporary.replace(path)  # readers never see a half-written file


def require_buckets(settings: Settings, lake: bool = True) -> None:
    """The S3 prefixes of the landing zone and (with ``lake``) the lake can be listed, or one line
    naming the bucket, S3's reason and the variable: before any run, in which each step would fail
    on it with a Java trace. Listed as the platform lists them (a prefix), so a policy that grants
    just the prefix passes, and S3 says why in its answer's body (a HEAD has none)."""
    uris = {"ATLIQON_LANDING_URI": settings.landing_uri}
    if lake:
        uris["ATLIQON_LAKE_URI"] = settings.lake_uri
    on_s3 = {variable: uri for variable, uri in uris.items() if uri.startswith("s3://")}
    if not on_s3:
        return
    from botocore.exceptions import ClientError  # an S3 zone only, as for its client

    client = LandingZoneResource.for_settings(settings).s3_client
    for variable, uri in on_s3.items():
        bucket, prefix = _split_s3(uri)
        try:
            client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        except ClientError as error:
            said = error.response.get("Error", {})
            if said.get("Code") == "NoSuchBucket":
                raise ConfigurationError(
                    f"the S3 bucket {bucket} of {variable} does not exist: create it, or set {variable} "
                    "to a bucket that does"
                ) from None
            raise ConfigurationError(
                f"cannot list {uri} ({said.get('Code')}: {said.get('Message')}): check the AWS "
                f"credentials variables, and that they may list {variable}"
            ) from None
