"""``ioc``: the service's command line (serve, worker, keys, models, train, and offline capabilities)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli_users import users_app
from api.settings import get_settings

#: ``-h`` is help for every command (Click hands the root's help option names down to every subcommand).
HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    help="Điều hành AI: forecasting, transcription and social listening.",
    no_args_is_help=True,
    context_settings=HELP,
)
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True, context_settings=HELP)
models_app = typer.Typer(help="Registered models: list, promote.", no_args_is_help=True, context_settings=HELP)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True, context_settings=HELP)
demo_app = typer.Typer(help="Demo indicators shipped with the package.", no_args_is_help=True, context_settings=HELP)
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
sources_app = typer.Typer(
    help="Sources pulled on a schedule: list, pull now.", no_args_is_help=True, context_settings=HELP
)
app.add_typer(sources_app, name="sources")

console = Console(stderr=True)


def _logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or get_settings().log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("alembic.runtime.migration", "mlflow", "urllib3", "httpx", "huey"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _services(*, tasks: bool = True) -> Any:
    """The service's stores. ``tasks=False`` for commands that run no job or first-start step: importing
    every capability's task module (pandas, the libraries) took about a second of each such command."""
    from api.services import Services
    from api.task_registry import TaskRegistry

    settings = get_settings()
    if not tasks:
        return Services.start(settings, TaskRegistry())
    from api.tasks import build_task_registry

    return Services.start(settings, build_task_registry(settings.jobs.plugins))


def _registry() -> Any:
    """The model registry alone (no database, no migrations): for commands that only read models."""
    from models import ModelRegistry

    settings = get_settings()
    return ModelRegistry(
        settings.resolved_mlflow_tracking_uri,
        settings.resolved_mlflow_artifact_root,
        cache_dir=settings.models_dir / "registry-cache",
    )


def prepare_output(path: Path) -> Path:
    """Create the missing folders of an ``--output`` path, saying so (a typo in a folder name shows at once)."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True)
        console.print(f"[yellow]created folder {parent} for the output[/yellow]")
    elif not parent.is_dir():
        console.print(f"[red]error:[/red] cannot write {path}: {parent} exists and is not a folder")
        raise typer.Exit(2)
    return path


def _table_console() -> Console:
    """Tables on stdout; wide when piped so that names are not wrapped."""
    return Console() if sys.stdout.isatty() else Console(width=240)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
        console=console,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    workers: Annotated[int | None, typer.Option(help="in-process job threads (0: use `ioc worker`)")] = None,
) -> None:
    """Start the API with an in-process job worker (the embedded default)."""
    import uvicorn

    from api.app import create_app

    _logging()
    settings = get_settings()
    application = create_app(settings, workers=workers)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        limit_concurrency=settings.http.max_connections,
    )


@app.command()
def worker(threads: Annotated[int, typer.Option(help="jobs run at the same time")] = 1) -> None:
    """Run a standalone job worker (distributed mode: any machine that reaches the queue and database)."""
    from api.worker import run_standalone

    _logging()
    run_standalone(_services(), threads)


@app.command()
def startup() -> None:
    """Apply migrations, register the default models and load demo data (what `serve` does first)."""
    from api.bootstrap import run_startup

    _logging()
    for line in run_startup(_services()) or ["nothing to do"]:
        console.print(line)


@sources_app.command("list")
def sources_list() -> None:
    """Every source: id, format, indicator, schedule, last status and alert (tab-separated on standard output)."""
    from api.stores import sources as store

    _logging("WARNING")
    services = _services(tasks=False)
    with services.db.session() as s:
        for src in store.list_sources(s):
            cells = [src.id, src.format, src.indicator_code or "*", src.schedule, src.last_status or "-"]
            typer.echo("\t".join(str(c) for c in [*cells, src.alert or "-", src.url]))


@sources_app.command("pull")
def sources_pull(source_id: Annotated[int, typer.Argument(help="the source's id (ioc sources list)")]) -> None:
    """Pull one source now, in this process (as the job would); prints the outcome as JSON."""
    import json

    from api.errors import NotFound
    from api.stores import sources as store

    _logging("WARNING")
    services = _services(tasks=False)
    try:
        outcome = store.pull_source(services, source_id)
    except store.PullFailed as e:
        typer.echo(json.dumps(e.outcome.to_dict(), ensure_ascii=False))
        console.print(f"[red]error:[/red] {e.outcome.error_code}: {e.outcome.error}")
        raise typer.Exit(1) from e
    except NotFound as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    typer.echo(json.dumps(outcome.to_dict(), ensure_ascii=False))


@demo_app.command("load")
def demo_load(
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            help="folder with the demo files (layout of forecasting/data or shared/data/indicators); "
            "default: the files shipped in the package",
            exists=True,
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Load the demo indicators (idempotent: missing ones are created, new values added, nothing twice)."""
    from api.tasks.forecasting import load_demo_data
    from forecasting import ForecastingError

    _logging("WARNING")
    try:
        done = load_demo_data(_services(), path)
    except ForecastingError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    console.print(done.summary())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to IOC_DATABASE_URL."""
    from api.storage import migrate

    _logging()
    migrate(get_settings().resolved_database_url)
    console.print("database schema is up to date")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer, secretary, analyst or admin")],
    name: Annotated[str, typer.Option(help="who or what uses the key")],
) -> None:
    """Create a key; it is printed once, alone on the last line."""
    from api.auth import create_key

    services = _services(tasks=False)
    try:
        with services.db.transaction() as s:
            info, key = create_key(s, name=name, role=role, pepper=services.settings.secret_key.get_secret_value())
            from api import audit
            from api.auth import SYSTEM

            audit.record(s, SYSTEM, "key.create", "api_key", str(info.id), {"name": name, "role": role})
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    console.print(f"created key {info.id} ({info.role}) for {info.name!r}; store it now, it is not shown again:")
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never the secrets)."""
    from api.auth import list_keys

    services = _services(tasks=False)
    with services.db.session() as s:
        rows = list_keys(s)
    table = Table("id", "name", "role", "prefix", "created", "last used", "revoked")
    for k in rows:
        table.add_row(
            str(k.id),
            k.name,
            k.role,
            k.prefix,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    _table_console().print(table)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="key id or prefix")]) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    from api import audit
    from api.auth import SYSTEM, revoke_key

    services = _services(tasks=False)
    with services.db.transaction() as s:
        info = revoke_key(s, key)
        if info is not None:
            audit.record(s, SYSTEM, "key.revoke", "api_key", str(info.id), None)
    if info is None:
        console.print(f"[red]error:[/red] no key with id or prefix {key!r}")
        raise typer.Exit(2)
    console.print(f"revoked key {info.id} ({info.name})")


@models_app.command("list")
def models_list() -> None:
    """Registered models and versions; * marks the champion. For forecasting, the data its metrics are on."""
    from models import MODEL_NAMES
    from models.comparison import metrics_data

    registry = _registry()
    table = Table("model", "version", "aliases", "created", "key metrics", "metrics on")
    for name in MODEL_NAMES:
        versions = registry.versions(name, with_params=False)
        champion = next((v for v in versions if "champion" in v.aliases), None)
        for v in versions:
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in v.key_metrics.items())
            star = "*" if v is champion else ""
            data = ""
            if name == "forecasting":
                d = metrics_data(v, champion)
                same = {True: "same as champion", False: "NOT the champion's data", None: "no champion"}
                data = f"{d['indicators']} indicators, {d['fingerprint'][:10] or '?'}, {same[d['same_as_champion']]}"
            table.add_row(
                name,
                f"{v.version}{star}",
                ",".join(v.aliases),
                f"{v.created_at:%Y-%m-%d %H:%M}",
                metrics,
                data,
            )
    _table_console().print(table)


@models_app.command("promote")
def models_promote(name: str, version: str) -> None:
    """Give VERSION of NAME the `champion` alias (after checking that it loads)."""
    from api.auth import SYSTEM
    from api.errors import ServiceError
    from api.model_lifecycle import promote_version

    services = _services(tasks=False)
    try:
        previous = promote_version(services, SYSTEM, name, version)
    except ServiceError as e:
        console.print(f"[red]error:[/red] {name} version {version} cannot be promoted: {e.message}")
        raise typer.Exit(2) from e
    console.print(f"{name} version {version} is now the champion" + (f" (was {previous})" if previous else ""))


@app.command()
def train(
    name: Annotated[str, typer.Argument(help="forecasting, sentiment or speech")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="trainer option KEY=VALUE")] = None,
) -> None:
    """Train NAME now, log the run to MLflow and register a new version (promote it separately)."""
    import json

    from api import jobs

    _logging("WARNING")
    services = _services()
    if name not in services.tasks.trainable_models():
        console.print(
            f"[red]error:[/red] unknown model {name!r}, expected one of: {', '.join(services.tasks.trainable_models())}"
        )
        raise typer.Exit(2)
    params: dict[str, Any] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            console.print(f"[red]error:[/red] --param expects KEY=VALUE, got {item!r}")
            raise typer.Exit(2)
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    from api.task_registry import TrainerOptionError

    try:
        services.tasks.check_trainer_params(name, params)
    except TrainerOptionError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    job = jobs.enqueue(
        services, "train", {"model": name, "params": params}, owner="system", exclusive=f"train:{name}"
    )  # SYSTEM.subject: jobs the CLI starts belong to the system
    final = run_job_with_progress(services, job.id, f"train {name}")
    if final.status != "succeeded":
        console.print(f"[red]training failed:[/red] {final.error}")
        raise typer.Exit(1)
    console.print_json(data=final.result)


def run_job_with_progress(services: Any, job_id: str, label: str) -> Any:
    """Run a queued job in this process (or follow it if a worker took it) with a progress bar."""
    from api import jobs

    runner = threading.Thread(target=jobs.run_job, args=(services, job_id), daemon=True)
    runner.start()
    with progress_bar() as bar:
        task = bar.add_task(label, total=1.0, message="")
        while True:
            job = jobs.get_job(services, job_id)
            bar.update(task, completed=job.progress, message=(job.message or "")[:60])
            if job.status in jobs.TERMINAL:
                return job
            time.sleep(0.3)


def _champion_or_default(name: str, default: Any) -> tuple[Any, str]:
    """The registered champion of ``name`` if this data dir has one, else ``default`` (offline use)."""
    settings = get_settings()
    if not (settings.resolved_data_dir / "mlflow.db").exists() and settings.mlflow_tracking_uri is None:
        return default, "default"
    try:
        served = _services().champions.get(name)
    except Exception as e:
        console.print(f"[yellow]no usable {name} champion ({e}); using the shipped default[/yellow]")
        return default, "default"
    return served.model, f"v{served.version}"


@app.command()
def forecast(
    input: Annotated[
        Path,
        typer.Argument(
            help="CSV or XLSX: unique_id,ds,y, or an office's file (Kỳ | Giá trị, a report with periods as columns)",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    horizon: Annotated[int, typer.Option("--horizon", "-H", help="periods ahead", min=1)],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write")],
    level: Annotated[list[float] | None, typer.Option("--level", help="interval level in percent, repeatable")] = None,
    freq: Annotated[str | None, typer.Option(help="M, Q or Y (default: inferred from ds; integer ds: index)")] = None,
    jobs: Annotated[int, typer.Option(help="processes; -1 = all cores")] = -1,
    plot: Annotated[list[str] | None, typer.Option(help="unique_id to plot as PNG next to the output")] = None,
) -> None:
    """Forecast every series of a file with calibrated intervals (all cores, progress bar).

    The file is read as the API reads uploads (the README's "Indicator files"): long ``unique_id,ds,y``,
    one series ``Kỳ | Giá trị``, long ``Mã | Kỳ | Giá trị`` or a report with periods as columns, vi-VN or
    en-US numbers; missing cells (``-``, ``..``) inside a series are interpolated for the forecast.
    """
    from forecasting import PipelineConfig, forecast_frame, read_long
    from forecasting.intake import IntakeError, IntakeOptions, read_table

    levels = level or [80.0, 95.0]
    model, label = _champion_or_default("forecasting", None)
    config = model.config if model is not None else PipelineConfig()
    try:
        data = input.read_bytes()
        intake_freq = freq.upper() if freq and freq.upper() in ("M", "Q", "Y") else None
        try:
            res = read_table(data, input.name, None, IntakeOptions(frequency=intake_freq))  # type: ignore[arg-type]
        except IntakeError as intake_error:
            # integer ds (an index, not a period) and other plain long files the intake does not read
            try:
                series = read_long(
                    data,
                    freq=freq,
                    file_format="xlsx" if input.suffix.lower() in {".xlsx", ".xlsm"} else None,
                    min_length=config.min_length,
                )
            except ValueError:
                raise intake_error from None
        else:
            for w in res.warnings:
                console.print(f"[yellow]{w.text('vi')}[/yellow]")
            console.print(f"read {res.layout.value} layout, {len(res.observations)} values, frequency {res.frequency}")
            series = read_long(
                res.to_frame(input.stem), freq=res.frequency, on_gap="interpolate", min_length=config.min_length
            )
        with progress_bar() as bar:
            task = bar.add_task(f"forecast ({label})", total=len(series), message=f"{len(series)} series")
            frame = forecast_frame(
                series,
                horizon,
                levels,
                freq=freq,
                config=config,
                n_jobs=jobs,
                progress=lambda done, total: bar.update(task, completed=done),
            )
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        if isinstance(e, IntakeError):
            console.print(e.message_en)
            for problem in e.problems:
                console.print(f"  {problem.text('en')}")
        raise typer.Exit(2) from e
    from api.spreadsheet import safe_frame

    safe_frame(frame).to_csv(prepare_output(output), index=False)
    console.print(f"wrote {len(frame)} rows for {len(series)} series to {output}")
    by_id = {s.unique_id: s for s in series}
    for uid in plot or []:
        if uid not in by_id:
            console.print(f"[yellow]no series {uid!r} to plot[/yellow]")
            continue
        from forecasting import forecast_series
        from forecasting.plot import plot_forecast

        png = output.with_name(f"{output.stem}-{uid}.png")
        png.write_bytes(plot_forecast(by_id[uid], forecast_series(by_id[uid], horizon, (80, 95), config), title=uid))
        console.print(f"plot: {png}")


@app.command("seasonal-adjust")
def seasonal_adjust_cmd(
    input: Annotated[
        Path,
        typer.Argument(help="CSV or XLSX in long format: unique_id,ds,y (monthly)", exists=True, dir_okay=False),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write (a missing folder is created)")],
    tet: Annotated[bool, typer.Option("--tet/--no-tet", help="remove Tết as a moving holiday")] = True,
) -> None:
    """Seasonally adjust monthly series with X-13ARIMA-SEATS (Tết as a moving holiday), one row per month."""
    import pandas as pd

    from forecasting import PipelineConfig, read_long
    from forecasting.seasonal import seasonal_adjust

    model, _ = _champion_or_default("forecasting", None)
    config = model.config if model is not None else PipelineConfig()
    frames = []
    try:
        series = read_long(
            input.read_bytes(),
            freq="M",
            file_format="xlsx" if input.suffix.lower() in {".xlsx", ".xlsm"} else None,
        )
        with progress_bar() as bar:
            task = bar.add_task("seasonal adjustment", total=len(series), message=f"{len(series)} series")
            for one in series:
                sa = seasonal_adjust(one, tet=tet, tet_window=config.tet_window)
                frames.append(sa.to_frame())
                if sa.tet_coefficient is not None:
                    bar.console.print(f"{one.unique_id}: Tết coefficient {sa.tet_coefficient:+.3f} (t {sa.tet_t:+.1f})")
                bar.advance(task)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    from api.spreadsheet import safe_frame

    safe_frame(pd.concat(frames)).to_csv(prepare_output(output), index=False)
    console.print(f"wrote {sum(len(f) for f in frames)} rows for {len(frames)} series to {output}")


@app.command()
def sentiment(
    input: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX with a text column", exists=True, dir_okay=False)],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="CSV to write: the input plus label, scores, topics (a missing folder is created)"
        ),
    ],
    text_column: Annotated[str, typer.Option(help="column holding the texts")] = "text",
    batch: Annotated[int, typer.Option(help="texts scored at once", min=1)] = 2000,
) -> None:
    """Score every text of a file with the sentiment champion (or the shipped model), with a progress bar."""
    import pandas as pd

    from social_listening import SentimentClassifier, TextError, tag_topics, validate_text

    _logging("WARNING")
    try:
        frame = (
            pd.read_excel(input, dtype=str)
            if input.suffix.lower() in {".xlsx", ".xlsm"}
            else pd.read_csv(input, dtype=str, keep_default_na=False, encoding="utf-8")
        )
    except (ValueError, UnicodeDecodeError) as e:
        console.print(f"[red]error:[/red] cannot read {input}: {e}")
        raise typer.Exit(2) from e
    if text_column not in frame.columns:
        console.print(f"[red]error:[/red] no column {text_column!r}; the file has {list(frame.columns)}")
        raise typer.Exit(2)
    model, label = _champion_or_default("sentiment", None)
    from models.shipped import SENTIMENT_DIR

    classifier = model.classifier if model is not None else SentimentClassifier.load(SENTIMENT_DIR / "model.skops")
    texts, bad = [], []
    for i, t in enumerate(frame[text_column].tolist()):
        try:
            texts.append(validate_text(t, index=i))
        except TextError as e:
            texts.append("")
            bad.append(f"row {i + 2}: {e}")
    labels, scores = [""] * len(texts), {c: [float("nan")] * len(texts) for c in classifier.classes_}
    good = [i for i, t in enumerate(texts) if t]
    with progress_bar() as bar:
        task = bar.add_task(f"sentiment ({label})", total=len(good), message=f"{len(good)} texts")
        for lo in range(0, len(good), batch):
            idx = good[lo : lo + batch]
            proba = classifier.predict_proba([texts[i] for i in idx])
            for i, row in zip(idx, proba, strict=True):
                labels[i] = classifier.classes_[int(row.argmax())]
                for c, p in zip(classifier.classes_, row, strict=True):
                    scores[c][i] = float(p)
            bar.update(task, advance=len(idx))
    frame["label"] = labels
    for c, values in scores.items():
        frame[f"score_{c}"] = values
    frame["topics"] = [";".join(tag_topics(t)) if t else "" for t in texts]
    from api.spreadsheet import safe_frame

    safe_frame(frame).to_csv(prepare_output(output), index=False)
    console.print(f"wrote {len(frame)} rows to {output}")
    for line in bad[:20]:
        console.print(f"[yellow]skipped {line}[/yellow]")


speech_app = typer.Typer(help="Speech models: import a better Whisper.", no_args_is_help=True)
app.add_typer(speech_app, name="speech")


@app.command()
def transcribe(
    audio: Annotated[Path, typer.Argument(help="recording: mp3, m4a, wav, ogg, mp4...", exists=True, dir_okay=False)],
    format: Annotated[str, typer.Option("--format", "-f", help="txt, srt, vtt, json or docx")] = "txt",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="file to write (default: stdout for text; a missing folder is created)"),
    ] = None,
    vocabulary: Annotated[list[str] | None, typer.Option(help="name or term to favour, repeatable")] = None,
    speakers: Annotated[int | None, typer.Option(help="number of speakers, if known", min=1, max=20)] = None,
    language: Annotated[str, typer.Option(help="ISO 639-1 code")] = "vi",
    title: Annotated[str | None, typer.Option(help="title of the minutes")] = None,
) -> None:
    """Transcribe a recording on this machine (no server), with a progress bar."""
    from datetime import UTC, datetime

    from speech import EXPORT_FORMATS, TranscribeOptions, Transcriber, Transcript, export, probe
    from speech.meeting import label_speakers

    _logging("WARNING")
    if format not in EXPORT_FORMATS:
        console.print(f"[red]error:[/red] --format must be one of {', '.join(EXPORT_FORMATS)}; got {format!r}")
        raise typer.Exit(2)
    if format == "docx" and output is None:
        console.print("[red]error:[/red] docx needs --output PATH")
        raise typer.Exit(2)
    settings = get_settings()
    try:
        info = probe(audio, max_duration_s=settings.speech.max_duration_s)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    model_dir = _speech_model_dir()
    transcriber = Transcriber(
        model_dir,
        device=settings.speech.device,
        compute_type=settings.speech.compute_type,
        cpu_threads=settings.speech.cpu_threads,
    )
    options = TranscribeOptions(
        language=language,
        vocabulary=tuple(vocabulary or ()),
        batch_size=settings.speech.batch_size,
        max_duration_s=settings.speech.max_duration_s,
    )
    with progress_bar() as bar:
        task = bar.add_task("transcribe", total=1.0, message=f"{info.duration_s / 60:.1f} min")
        segments = list(
            transcriber.transcribe(
                audio,
                options=options,
                on_progress=lambda p: bar.update(
                    task,
                    completed=0.9 * p.fraction,
                    message=f"about {p.eta_s / 60:.0f} min left" if p.eta_s else "decoding",
                ),
            )
        )
        bar.update(task, message="speakers")
        segments, note = label_speakers(audio, segments, speakers)
        if note:
            console.print(f"[yellow]{note}[/yellow]")
        bar.update(task, completed=1.0, message="done")
    transcript = Transcript(title or audio.stem, datetime.now(UTC), info.duration_s, tuple(segments), language)
    data = export(transcript, format)
    if output is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        prepare_output(output).write_bytes(data)
        console.print(f"wrote {output} ({len(segments)} segments)")


def _speech_model_dir() -> Path:
    """The champion speech model of this data dir, else the shipped Whisper base assembled once."""
    from speech import ensure_default_model

    settings = get_settings()
    if settings.speech.model != "champion":
        return Path(settings.speech.model)
    model, _ = _champion_or_default("speech", None)
    if model is not None:
        return Path(model.model_dir)
    return ensure_default_model(settings.models_dir / "whisper-base")


@speech_app.command("import-model")
def speech_import_model(
    source: Annotated[
        Path,
        typer.Argument(
            help="CTranslate2 Whisper dir, or Hugging Face Whisper to convert", exists=True, file_okay=False
        ),
    ],
    quantization: Annotated[str, typer.Option(help="weights stored by a conversion")] = "int8_float16",
) -> None:
    """Register a better Whisper (PhoWhisper, large-v3...) as a new `speech` version, evaluated; promote it after."""
    from api.tasks.speech import import_speech_model

    _logging("WARNING")
    services = _services()
    try:
        with console.status(f"importing and evaluating {source}"):
            version = import_speech_model(services, source, quantization)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    except RuntimeError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
    metrics = services.registry.version("speech", version).metrics
    console.print(f"registered speech version {version}: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
    console.print(f"serve it with: ioc models promote speech {version}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
