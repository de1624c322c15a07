"""One typed settings tree, prefix ``IOC_``, nested with ``__`` (``IOC_SPEECH__DEVICE=cuda``).

Every path defaults under ``IOC_DATA_DIR`` (``./var``). Read through :func:`get_settings`; tests call
``get_settings.cache_clear()`` after changing the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "changethis", "secret", "dev-insecure-pepper"}


class JobSettings(BaseModel):
    workers: int = Field(2, ge=0, le=64, description="worker threads of the in-process consumer (ioc serve)")
    heartbeat_interval_s: float = Field(5.0, gt=0, description="how often a running job proves it is alive")
    stale_after_s: float = Field(60.0, gt=0, description="a running job silent this long is re-enqueued")
    reaper_interval_s: float = Field(10.0, gt=0, description="how often workers look for stale jobs")
    max_attempts: int = Field(3, ge=1, description="attempts before a job whose worker keeps dying fails")
    poll_interval_s: float = Field(0.25, gt=0, description="queue polling interval of idle workers")
    plugins: list[str] = Field(
        default_factory=list, description="extra modules that register job kinds (imported by every process)"
    )
    max_active_per_owner: int = Field(
        5, ge=1, description="most queued + running jobs of one person or key (429 above; CLI jobs are exempt)"
    )


class ModelSettings(BaseModel):
    refresh_interval_s: float = Field(5.0, ge=0, description="how often servers check the champion alias")
    bootstrap: bool = Field(True, description="register the shipped default models at first start")
    compare_max_indicators: int = Field(
        60, ge=1, description="most stored indicators POST /v1/models/forecasting/compare backtests (413 above)"
    )
    compare_max_versions: int = Field(4, ge=2, description="most versions one comparison backtests")


class SpeechSettings(BaseModel):
    model: str = Field("champion", description="'champion' (registry) or a CTranslate2 model directory")
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str | None = Field(
        None,
        description="CTranslate2 compute type (int8, int8_float16, float16, ...); unset: int8 on CPU, float16 on GPU",
    )
    language: str = "vi"
    batch_size: int = Field(4, ge=1, le=64, description="chunks decoded together (memory grows with it)")
    cpu_threads: int = Field(0, ge=0, description="0 = all cores")
    max_duration_s: float = Field(4 * 3600.0, gt=0, description="longest recording accepted, seconds")
    max_upload_bytes: int = Field(2 * 1024**3, gt=0, description="largest upload accepted, bytes")


class ForecastingSettings(BaseModel):
    max_horizon: int = Field(120, ge=1, description="largest forecast horizon accepted, periods")
    max_request_series: int = Field(100, ge=1, description="most series in one POST /v1/forecasts (413 above)")
    max_request_values: int = Field(
        20_000, ge=1, description="most values (series x length) in one POST /v1/forecasts (413 above)"
    )
    demo_data_dir: Path | None = Field(
        None,
        description="demo files to load at first start instead of those shipped in the package "
        "(forecasting/data, or the layout of shared/data/indicators); unset: the shipped ones",
    )
    load_demo: bool = Field(True, description="load the demo indicators into an empty catalogue at first start")


class IntakeSettings(BaseModel):
    """Caps on indicator files read by :func:`forecasting.intake.read_table` (uploads and the catalogue import)."""

    max_bytes: int = Field(32 * 1024**2, gt=0, description="largest indicator file, bytes")
    max_rows: int = Field(200_000, gt=0, description="most rows in a file or the read sheet")
    max_cells: int = Field(4_000_000, gt=0, description="most cells (rows x columns) in a file or the read sheet")
    max_uncompressed_bytes: int = Field(
        256 * 1024**2, gt=0, description="largest total a workbook's zip declares once inflated, bytes (zip bombs)"
    )
    max_problems: int = Field(50, gt=0, description="most problems listed in an error, warnings in a result")
    dry_run_rows: int = Field(2_000, ge=0, description="most parsed rows listed in a dry run's answer")


class SourceSettings(BaseModel):
    """Scheduled pulls of published files (``POST /v1/sources``; :mod:`forecasting.intake.fetch`)."""

    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="hosts (names or IP addresses, exactly as in the URL) that may be pulled although they resolve "
        "to private, loopback or link-local addresses; everything else must resolve to public addresses",
    )
    max_bytes: int = Field(32 * 1024**2, gt=0, description="largest pulled file, bytes (received and decompressed)")
    connect_timeout_s: float = Field(10.0, gt=0, description="seconds to connect to a source's server")
    read_timeout_s: float = Field(30.0, gt=0, description="seconds of silence tolerated while reading")
    total_timeout_s: float = Field(120.0, gt=0, description="seconds one request may take in all")
    retries: int = Field(2, ge=0, le=5, description="further attempts after a 5xx, 429, timeout or dropped connection")
    backoff_s: float = Field(2.0, ge=0, description="wait before the first retry, seconds (doubles each time)")
    backoff_max_s: float = Field(30.0, ge=0, description="longest wait between attempts, seconds")
    min_interval_s: int = Field(300, ge=1, description="shortest schedule accepted, seconds between pulls")
    scheduler_interval_s: float = Field(15.0, gt=0, description="how often each worker looks for due sources")
    stale_periods: float = Field(
        2.0, gt=0, description="source_stale when no new period arrived for this many of the data's periods"
    )
    failures_before_alert: int = Field(1, ge=1, description="consecutive failed pulls that raise source_failed")
    timezone: str = Field("Asia/Ho_Chi_Minh", description="time zone of cron schedules")


class SocialSettings(BaseModel):
    max_batch: int = Field(1000, ge=1, description="most texts in one sentiment request (413 above)")
    max_text_chars: int = Field(20_000, ge=1, description="longest text accepted, characters")
    max_posts: int = Field(5000, ge=1, description="most posts in one POST /v1/social/posts, JSON or file (413 above)")
    public_data_dir: Path | None = Field(None, description="../shared/data/sentiment layout, for retraining")


class ThrottleSettings(BaseModel):
    """Failed authentications: past ``*_delay_after`` failures in ``window_s`` each attempt waits
    ``delay_base_s * 2**(n - delay_after)`` seconds (at most ``delay_max_s``) after the last failure; at
    ``*_lock_after`` the account or address is refused for ``lock_s`` (429 with Retry-After)."""

    window_s: float = Field(900.0, gt=0, description="window in which failures are counted, seconds")
    account_delay_after: int = Field(5, ge=1, description="failed sign-ins of one user name before slowing down")
    account_lock_after: int = Field(10, ge=1, description="failed sign-ins of one user name that lock it")
    address_delay_after: int = Field(20, ge=1, description="failed sign-ins from one address before slowing down")
    address_lock_after: int = Field(100, ge=1, description="failed sign-ins from one address that lock it")
    key_delay_after: int = Field(20, ge=1, description="wrong API keys from one address before slowing down")
    key_lock_after: int = Field(100, ge=1, description="wrong API keys from one address that lock it")
    lock_s: float = Field(900.0, gt=0, description="how long a lock lasts, seconds")
    delay_base_s: float = Field(1.0, gt=0, description="first delay once slowing down, seconds (doubles)")
    delay_max_s: float = Field(60.0, gt=0, description="longest delay between attempts, seconds")


class AuthSettings(BaseModel):
    """People signing in (sessions, passwords) and the security headers."""

    session_idle_s: float = Field(3600.0, gt=0, description="a session unused this long ends, seconds")
    session_absolute_s: float = Field(12 * 3600.0, gt=0, description="a session ends this long after sign-in")
    cookie_name: str = Field("ioc_session", description="name of the session cookie")
    cookie_samesite: Literal["lax", "strict"] = "lax"
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For/-Proto are believed",
    )
    hsts_max_age_s: int = Field(31_536_000, ge=0, description="Strict-Transport-Security max-age over HTTPS")
    password_min_length: int = Field(10, ge=8, description="shortest password accepted, characters")
    argon2_time_cost: int = Field(3, ge=1, description="argon2id iterations (RFC 9106 low-memory: 3)")
    argon2_memory_kib: int = Field(65536, ge=1024, description="argon2id memory per hash, KiB")
    argon2_parallelism: int = Field(4, ge=1, description="argon2id lanes")
    throttle: ThrottleSettings = ThrottleSettings()


class HttpSettings(BaseModel):
    """Request bodies that arrive too slowly are cut (408) so that half-sent uploads cannot hold the server;
    past ``max_inflight_bodies`` bodies being received at once, new ones are refused (503)."""

    body_idle_s: float = Field(30.0, gt=0, description="longest wait for the next piece of a request body, seconds")
    body_min_rate_bytes_s: int = Field(
        16 * 1024, ge=0, description="slowest average body rate accepted after the grace period, bytes/s (0: none)"
    )
    body_grace_s: float = Field(10.0, ge=0, description="time before the minimum rate is enforced, seconds")
    body_max_s: float = Field(3600.0, gt=0, description="longest time to receive one request body, seconds")
    max_inflight_bodies: int = Field(64, ge=1, description="request bodies received at once (503 above)")
    max_connections: int = Field(
        1000, ge=1, description="connections and requests `ioc serve` handles at once (503 above; uvicorn)"
    )
    max_json_depth: int = Field(64, ge=2, description="deepest nesting of a JSON body (422 above)")
    health_cache_s: float = Field(1.0, ge=0, description="how long a readiness answer (/health) is reused, seconds")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOC_", env_nested_delimiter="__", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the data dir")
    queue_url: str | None = Field(None, description="sqlite:///path or redis://host:port/db")
    mlflow_tracking_uri: str | None = Field(None, description="default sqlite:///<data_dir>/mlflow.db")
    mlflow_artifact_root: str | None = Field(None, description="default <data_dir>/mlartifacts")
    secret_key: SecretStr = Field(
        SecretStr("dev-insecure-pepper"), description="pepper for API key hashes; required in production"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_request_bytes: int = Field(10 * 1024**2, gt=0, description="largest JSON/CSV body, bytes")
    log_level: str = "INFO"

    jobs: JobSettings = JobSettings()
    models: ModelSettings = ModelSettings()
    speech: SpeechSettings = SpeechSettings()
    forecasting: ForecastingSettings = ForecastingSettings()
    social: SocialSettings = SocialSettings()
    intake: IntakeSettings = IntakeSettings()
    sources: SourceSettings = SourceSettings()
    auth: AuthSettings = AuthSettings()
    http: HttpSettings = HttpSettings()

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "IOC_SECRET_KEY is a placeholder; set a long random value in production "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return self

    # Derived locations: computed, not stored, so that IOC_DATA_DIR moves all of them at once.
    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'ioc.db'}"

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.resolved_data_dir / 'queue.db'}"

    @property
    def resolved_mlflow_tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.resolved_data_dir / 'mlflow.db'}"

    @property
    def resolved_mlflow_artifact_root(self) -> str:
        return self.mlflow_artifact_root or (self.resolved_data_dir / "mlartifacts").as_uri()

    @property
    def uploads_dir(self) -> Path:
        return self.resolved_data_dir / "uploads"

    @property
    def models_dir(self) -> Path:
        return self.resolved_data_dir / "models"

    @property
    def resolved_public_sentiment_dir(self) -> Path:
        # Inside the data dir (nothing by default reads outside the project): a center copies the public
        # corpora there, or points IOC_SOCIAL__PUBLIC_DATA_DIR at them; training without them fails loudly.
        return self.social.public_data_dir or self.resolved_data_dir / "corpora" / "sentiment"


@lru_cache
def get_settings() -> Settings:
    return Settings()
