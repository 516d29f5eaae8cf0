"""Node settings: flags and `TONGBAN_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

StoreKind = Literal["memory", "sqlite", "postgres"]
BrokerKind = Literal["memory", "nats"]


class RegionConfig(BaseSettings):
    """One region node's configuration. Every field can be set as `TONGBAN_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="TONGBAN_", extra="forbid")

    region: str = Field(description="GB/T 2260 code of the region this node serves")
    peers: tuple[str, ...] = Field(default=(), description="regions this node exchanges cases with")
    store: StoreKind = "memory"
    dsn: str = ""
    schema_name: str = Field(default="", alias="schema")
    sqlite_dir: Path = Path("./data")
    broker: BrokerKind = "memory"
    nats_url: str = "nats://127.0.0.1:4222"
    http: str = ""
    gap_bound_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    relay_batch: int = 500
    holiday_files: tuple[Path, ...] = Field(
        default=(), description="operator holiday files (JSON) extending the official calendar")
    register_key: str = Field(default="tongban-dev-register-key",
                              description="HMAC key for person keys; set a secret in production")

    @field_validator("region")
    @classmethod
    def _six_digits(cls, value: str) -> str:
        if len(value) != 6 or not value.isdigit():
            raise ValueError(f"region must be a 6-digit GB/T 2260 code, got {value!r}")
        return value

    @field_validator("peers", "holiday_files", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value
