"""Run the real gammu-smsd on Gammu's dummy phone, to try surgad without a modem.

The dummy driver keeps its "SIM" in a directory: every file ``DEVICE/sms/1/<N>``
(``N`` from 1 to 10000) is one SMS part in Gammu's smsbackup format. gammu-smsd polls
that folder every ``ReceiveFrequency`` seconds, stores what it finds in ``inbox`` and
deletes the file; it opens only files named by a bare number and ignores every other
name. Outgoing SMS are "sent" at once and land in ``sentitems``; gammu 1.42's dummy
driver writes nothing about them to ``DEVICE/operations.log``.

This module writes a gammu-smsdrc for the dummy phone, runs gammu-smsd as a child
process, and delivers incoming SMS into the dummy SIM the way a network would present
them: real concatenated parts with a chosen reference, Unicode when the text is not
GSM-encodable, odd senders (``TELKOMSEL``, ``3``, an empty USSD-like sender), 8-bit
binary data, and the same SMS stored again and again when the SIM cannot delete it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import random
import shutil
import signal
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import gammu
import sqlalchemy
from sqlalchemy import exc, pool

from surgad import errors

SmsDict = dict[str, Any]
"""One SMS part as python-gammu represents it."""

DbKind = Literal["sqlite", "pgsql", "mysql"]

DEFAULT_PHONE_ID = "dummy"
DEFAULT_SMSC = "+6281100000"
GAMMU_SMSD = "gammu-smsd"
INBOX_FOLDER = 1
MAX_LOCATION = 10000
"""The dummy driver looks at ``sms/1/1`` .. ``sms/1/10000`` and nothing else."""

# GSM 03.38 default alphabet (ESC left out) and its extension table.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

_CONCATENATED_ENTRY = {8: "ConcatenatedTextLong", 16: "ConcatenatedTextLong16bit"}
_READY_LOG_LINE = "Inserting phone info"
_POLL_INTERVAL = 0.05


class DummyPhoneError(errors.SurgadError):
    """The dummy phone or the gammu-smsd running on it did not behave as expected."""


@dataclasses.dataclass(frozen=True)
class DbTarget:
    """Name the database a gammu-smsd stores into: a SQLite file or a server."""

    kind: DbKind
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    user: str = ""
    password: str = ""
    database: str = ""

    def __post_init__(self) -> None:
        if self.kind == "sqlite" and self.path is None:
            raise ValueError("a sqlite DbTarget needs a path")
        if self.kind != "sqlite" and not self.database:
            raise ValueError(f"a {self.kind} DbTarget needs a database name")

    @classmethod
    def sqlite(cls, path: Path) -> DbTarget:
        """Target the SQLite database file at ``path``."""
        return cls(kind="sqlite", path=path.resolve())

    def url(self) -> sqlalchemy.URL:
        """Return the SQLAlchemy URL of the same database."""
        if self.kind == "sqlite":
            return sqlalchemy.URL.create("sqlite", database=str(self.path))
        driver = {"pgsql": "postgresql+psycopg2", "mysql": "mysql+mysqldb"}[self.kind]
        return sqlalchemy.URL.create(
            driver,
            username=self.user or None,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=self.database,
        )

    def smsd_settings(self) -> dict[str, str]:
        """Return the ``[smsd]`` keys that point gammu-smsd at this database."""
        if self.kind == "sqlite":
            assert self.path is not None
            return {
                "driver": "sqlite3",
                "dbdir": str(self.path.parent),
                "database": self.path.name,
            }
        host = self.host if self.port is None else f"{self.host}:{self.port}"
        return {
            "driver": f"native_{self.kind}",
            "host": host,
            "user": self.user,
            "password": self.password,
            "database": self.database,
        }


def write_smsdrc(
    path: Path,
    *,
    device_dir: Path,
    phone_id: str,
    db: DbTarget,
    log_path: Path,
    loop_sleep: int = 1,
    extra: Mapping[str, str] = {},
) -> None:
    """Write a gammu-smsdrc that runs gammu-smsd on the dummy phone in ``device_dir``.

    The timers are short so tests do not wait: inbox polled every second, an empty
    outbox looked at again after one second. ``loop_sleep`` 0 sends about 60 SMS a
    second instead of one, but then gammu spins a whole CPU core while idle.
    ``extra`` adds or replaces ``[smsd]`` keys (compared without case, as gammu
    does), for example ``{"MultipartTimeout": "2"}``. There is no ``RunOnReceive``.
    """
    smsd = {
        "service": "sql",
        **db.smsd_settings(),
        "PhoneID": phone_id,
        "logfile": str(log_path),
        # 1 adds the "Received message from" and "SMS sent on device" lines.
        "debuglevel": "1",
        "CommTimeout": "1",
        "ReceiveFrequency": "1",
        "LoopSleep": str(loop_sleep),
        "StatusFrequency": "1",
        "CheckBattery": "0",
        "CheckSignal": "0",
        "DeliveryReport": "no",
    }
    sections = {
        "gammu": {"model": "dummy", "connection": "none", "device": str(device_dir)},
        "smsd": _override(smsd, extra),
    }
    path.write_text(_render_ini(sections), encoding="utf-8")


def _override(settings: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """Return ``settings`` with the keys of ``extra`` added or replaced, case-blind."""
    merged = {key: value for key, value in settings.items()}
    for key, value in extra.items():
        for existing in [k for k in merged if k.lower() == key.lower()]:
            del merged[existing]
        merged[key] = value
    return merged


def _render_ini(sections: Mapping[str, Mapping[str, str]]) -> str:
    """Render sections as gammu's INI dialect, refusing what it cannot represent."""
    lines: list[str] = []
    for name, settings in sections.items():
        lines.append(f"[{name}]")
        for key, value in settings.items():
            _check_ini_item(key, value)
            lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines)


def _check_ini_item(key: str, value: str) -> None:
    """Raise ValueError for a key or value gammu's INI reader would misread."""
    if not key or any(c in key for c in "=[]\n\r;#") or key != key.strip():
        raise ValueError(f"unusable gammu-smsdrc key: {key!r}")
    if "\n" in value or "\r" in value or value != value.strip():
        raise ValueError(f"unusable gammu-smsdrc value for {key}: {value!r}")


class GammuSmsd:
    """Run one real gammu-smsd on the dummy phone as a child process.

    Use it as a context manager: entering starts gammu-smsd in the foreground (no
    ``--daemon``, so this object owns its pid) and returns once gammu has registered
    its row in ``phones``; leaving stops it with SIGTERM, then SIGKILL after
    ``stop_timeout`` seconds. Console output goes to ``console_path``, because gammu
    repeats every logged error on stderr and a full pipe would stall it.
    """

    def __init__(
        self,
        config_path: Path,
        *,
        device_dir: Path,
        log_path: Path,
        db: DbTarget,
        phone_id: str,
        tz: str | None = None,
        start_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        executable: str = GAMMU_SMSD,
    ) -> None:
        self.config_path = config_path
        self.device_dir = device_dir
        self.log_path = log_path
        self.console_path = log_path.with_name(log_path.name + ".console")
        self.db = db
        self.phone_id = phone_id
        self.tz = tz
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.executable = executable
        self._process: subprocess.Popen[bytes] | None = None
        self._console: IO[bytes] | None = None

    @classmethod
    def in_directory(
        cls,
        workdir: Path,
        db: DbTarget,
        *,
        phone_id: str = DEFAULT_PHONE_ID,
        loop_sleep: int = 1,
        extra: Mapping[str, str] = {},
        tz: str | None = None,
    ) -> GammuSmsd:
        """Write a dummy-phone smsdrc under ``workdir`` and return its runner."""
        device_dir = workdir / "device"
        log_path = workdir / "smsd.log"
        config_path = workdir / "smsdrc"
        workdir.mkdir(parents=True, exist_ok=True)
        write_smsdrc(
            config_path,
            device_dir=device_dir,
            phone_id=phone_id,
            db=db,
            log_path=log_path,
            loop_sleep=loop_sleep,
            extra=extra,
        )
        return cls(
            config_path,
            device_dir=device_dir,
            log_path=log_path,
            db=db,
            phone_id=phone_id,
            tz=tz,
        )

    def __enter__(self) -> GammuSmsd:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """Return the pid of the running gammu-smsd, or None before start."""
        return None if self._process is None else self._process.pid

    def is_running(self) -> bool:
        """Tell whether the child gammu-smsd is still alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start gammu-smsd and wait until it has registered in ``phones``."""
        if self._process is not None:
            raise DummyPhoneError("this gammu-smsd was already started")
        if shutil.which(self.executable) is None:
            raise DummyPhoneError(f"{self.executable} is not installed")
        _make_sim_folders(self.device_dir)
        log_offset = _file_size(self.log_path)
        self._spawn()
        try:
            self._wait_ready(log_offset)
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> None:
        """Launch the child process with stdout and stderr in the console file."""
        env = dict(os.environ)
        if self.tz is not None:
            env["TZ"] = self.tz
        self._console = self.console_path.open("ab")
        self._process = subprocess.Popen(
            [self.executable, "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def _wait_ready(self, log_offset: int) -> None:
        """Wait for the phone-info log line, then for the ``phones`` row itself."""
        # The log line comes after gammu deleted any stale row of the dummy IMEI, so
        # a row seen after it is this run's. Probing only then also keeps the probe's
        # reads away from gammu's startup writes on a rollback-journal SQLite file.
        wait_until(
            lambda: self._alive_and(lambda: self._log_has(_READY_LOG_LINE, log_offset)),
            self.start_timeout,
            "gammu-smsd to connect the dummy phone",
        )
        wait_until(
            lambda: self._alive_and(lambda: phone_registered(self.db, self.phone_id)),
            self.start_timeout,
            "gammu-smsd to register in the phones table",
        )

    def _alive_and(self, check: Callable[[], bool]) -> bool:
        """Run ``check`` while the child lives; raise with its output once it died."""
        if self._process is not None and self._process.poll() is not None:
            raise DummyPhoneError(
                f"gammu-smsd exited with status {self._process.returncode}: "
                f"{self._last_output()}"
            )
        return check()

    def _log_has(self, needle: str, offset: int) -> bool:
        """Tell whether the log written after ``offset`` contains ``needle``."""
        return needle in _read_text(self.log_path, offset)

    def _last_output(self, lines: int = 15) -> str:
        """Return the tail of the log and the console, to explain a failure."""
        tail = (self.log_text() + _read_text(self.console_path)).splitlines()
        return " | ".join(tail[-lines:])

    def stop(self) -> int | None:
        """Stop gammu-smsd (SIGTERM, SIGKILL after the timeout); return its status."""
        process, self._process = self._process, None
        if process is None:
            return None
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                # gammu ignores a second SIGTERM while it shuts down.
                process.kill()
                return process.wait()
        finally:
            self._close_console()

    def _close_console(self) -> None:
        """Close the console file handed to the child."""
        if self._console is not None:
            self._console.close()
            self._console = None

    def log_text(self) -> str:
        """Return gammu-smsd's log file as text (empty before it exists)."""
        return _read_text(self.log_path)


def phone_registered(db: DbTarget, phone_id: str) -> bool:
    """Tell whether ``phones`` holds a row with ``ID = phone_id``."""
    # Every dummy phone has the IMEI 999999999999999, the key of ``phones``: two
    # dummy gammu-smsd on one database replace each other's row at startup.
    engine = sqlalchemy.create_engine(db.url(), poolclass=pool.NullPool)
    phones = sqlalchemy.table("phones", sqlalchemy.column("ID"))
    query = sqlalchemy.select(phones.c.ID).where(phones.c.ID == phone_id)
    try:
        with engine.connect() as connection:
            return connection.execute(query).first() is not None
    except exc.OperationalError:
        return False
    finally:
        engine.dispose()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Call ``check`` until it returns True; raise DummyPhoneError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise DummyPhoneError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(_POLL_INTERVAL)


def is_gsm_text(text: str) -> bool:
    """Tell whether ``text`` fits the GSM 7-bit default alphabet and its extension."""
    return all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text)


def build_incoming(
    sender: str,
    text: str,
    *,
    when: dt.datetime | None = None,
    reference: int | None = None,
    reference_bits: Literal[8, 16] = 8,
    sms_class: int = -1,
    unicode: bool | None = None,
    smsc: str = DEFAULT_SMSC,
) -> list[SmsDict]:
    """Encode ``text`` as the SMS parts a network would deliver from ``sender``.

    A text that does not fit one SMS becomes concatenated parts whose UDH carries
    ``reference`` (8-bit ``050003RRTTPP`` or 16-bit ``060804RRRRTTPP``; random when
    None); a single SMS carries no UDH. ``unicode`` None picks UCS-2 exactly when the
    text is not GSM-encodable. ``when`` is the SMSC timestamp; a naive value is read
    as this process's local time; gammu-smsd stores it converted to its own ``TZ``.
    """
    use_unicode = not is_gsm_text(text) if unicode is None else unicode
    if not use_unicode and not is_gsm_text(text):
        raise ValueError("text has characters outside the GSM alphabet; use unicode")
    entry = {"ID": _CONCATENATED_ENTRY[reference_bits], "Buffer": text}
    parts: list[SmsDict] = gammu.EncodeSMS(
        {"Class": -1, "Unicode": use_unicode, "Entries": [entry]}
    )
    ref = _choose_reference(reference, reference_bits)
    stamp = _smsc_time(when)
    return [
        _as_delivered(_with_reference(part, ref, reference_bits), sender, stamp, smsc)
        | {"Class": sms_class}
        for part in parts
    ]


def _choose_reference(reference: int | None, bits: int) -> int:
    """Return ``reference`` after checking its range, or a random one."""
    limit = 1 << bits
    if reference is None:
        return random.randrange(limit)
    if not 0 <= reference < limit:
        raise ValueError(f"a {bits}-bit concatenation reference must be below {limit}")
    return reference


def _with_reference(part: SmsDict, reference: int, bits: int) -> SmsDict:
    """Return ``part`` with its concatenation UDH rebuilt around ``reference``."""
    udh = part["UDH"]
    if udh["Type"] not in ("ConcatenatedMessages", "ConcatenatedMessages16bit"):
        return part
    total, seq = udh["AllParts"], udh["PartNumber"]
    if bits == 16:
        header = bytes([6, 0x08, 4, reference >> 8, reference & 0xFF, total, seq])
    else:
        header = bytes([5, 0x00, 3, reference, total, seq])
    # gammu decodes the UDH from these bytes alone when it reads the backup file.
    return part | {"UDH": udh | {"Text": header}}


def _smsc_time(when: dt.datetime | None) -> dt.datetime:
    """Return the SMSC timestamp as aware UTC, the form the backup file keeps."""
    if when is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Gammu reads every backup timestamp as UTC, and python-gammu writes any other
    # offset as bare wall-clock time, so only a UTC value survives the round trip.
    return when.astimezone(dt.UTC).replace(microsecond=0)


def _as_delivered(part: SmsDict, sender: str, when: dt.datetime, smsc: str) -> SmsDict:
    """Turn an encoded part into an unread SMS in the SIM inbox."""
    return part | {
        "Type": "Deliver",
        "Number": sender,
        "SMSC": {"Number": smsc},
        "DateTime": when,
        "State": "UnRead",
        "Folder": INBOX_FOLDER,
        "InboxFolder": 1,
    }


def build_raw(
    sender: str,
    *,
    text: str = "",
    data: bytes | None = None,
    sms_class: int = -1,
    unicode: bool | None = None,
    udh: bytes = b"",
    when: dt.datetime | None = None,
    smsc: str = DEFAULT_SMSC,
) -> SmsDict:
    """Build one SMS exactly as given, with no splitting and no length check.

    For the odd messages a network delivers: an alphanumeric (``TELKOMSEL``) or short
    (``3``) sender, an empty sender with class 127 like a USSD reply, a flash SMS
    (class 0), an empty SMS, or 8-bit binary ``data`` (which wins over ``text``).
    """
    body: str | bytes
    if data is not None:
        coding, body = "8bit", data
    else:
        use_unicode = not is_gsm_text(text) if unicode is None else unicode
        coding = "Unicode_No_Compression" if use_unicode else "Default_No_Compression"
        body = text
    header = {"Type": "UserUDH", "Text": udh} if udh else {"Type": "NoUDH", "Text": b""}
    message = {"Coding": coding, "Text": body, "Class": sms_class, "UDH": header}
    return _as_delivered(message, sender, _smsc_time(when), smsc)


def deliver(device_dir: Path, messages: Iterable[SmsDict]) -> list[Path]:
    """Put each SMS part into the dummy SIM inbox as a file of its own.

    Each file takes the lowest free number, as a SIM fills its first free slot, so
    gammu's inbox row IDs follow slot order, not delivery order. A file appears only
    complete: it is written under a name gammu ignores and then hard-linked to its
    number, which also fails instead of overwriting when two writers race.
    """
    folder = _make_sim_folders(device_dir)
    return [_store(folder, message) for message in messages]


def _make_sim_folders(device_dir: Path) -> Path:
    """Create the dummy SIM inbox (gammu creates the rest) and return its path."""
    folder = device_dir / "sms" / str(INBOX_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _store(folder: Path, message: SmsDict) -> Path:
    """Write ``message`` to a temporary name, then link it to a free slot number."""
    scratch = folder / f".incoming-{uuid.uuid4().hex}"
    # SaveSMSBackup appends to an existing file, so every part gets a new name.
    gammu.SaveSMSBackup(str(scratch), [message])
    try:
        return _link_to_free_slot(scratch, folder)
    finally:
        scratch.unlink()


def _link_to_free_slot(source: Path, folder: Path) -> Path:
    """Hard-link ``source`` to the lowest free slot number in ``folder``."""
    taken = {entry.name for entry in os.scandir(folder)}
    for slot in range(1, MAX_LOCATION + 1):
        if str(slot) in taken:
            continue
        target = folder / str(slot)
        try:
            os.link(source, target)
        except FileExistsError:
            continue
        return target
    raise DummyPhoneError(f"the dummy SIM {folder} is full ({MAX_LOCATION} SMS)")


def inject_incoming(
    device_dir: Path,
    sender: str,
    text: str,
    *,
    when: dt.datetime | None = None,
    reference: int | None = None,
    reference_bits: Literal[8, 16] = 8,
    parts: Sequence[int] | None = None,
    sms_class: int = -1,
    unicode: bool | None = None,
    smsc: str = DEFAULT_SMSC,
) -> list[Path]:
    """Deliver ``text`` from ``sender`` to the dummy phone; return the files written.

    ``parts`` (1-based) delivers only those parts of a concatenated SMS, so a test
    can deliver part 3 now and parts 1 and 2 in a later poll with the same
    ``reference`` and ``when``. See build_incoming for the other arguments.
    """
    messages = build_incoming(
        sender,
        text,
        when=when,
        reference=reference,
        reference_bits=reference_bits,
        sms_class=sms_class,
        unicode=unicode,
        smsc=smsc,
    )
    return deliver(device_dir, _select_parts(messages, parts))


def _select_parts(
    messages: list[SmsDict], parts: Sequence[int] | None
) -> list[SmsDict]:
    """Return the messages numbered in ``parts`` (1-based), or all when None."""
    if parts is None:
        return messages
    if not set(parts) <= set(range(1, len(messages) + 1)):
        raise ValueError(f"parts {list(parts)} outside 1..{len(messages)}")
    return [messages[number - 1] for number in sorted(set(parts))]


def inject_raw(
    device_dir: Path,
    sender: str,
    *,
    text: str = "",
    data: bytes | None = None,
    sms_class: int = -1,
    unicode: bool | None = None,
    udh: bytes = b"",
    when: dt.datetime | None = None,
    smsc: str = DEFAULT_SMSC,
) -> Path:
    """Deliver one SMS built by build_raw; return the file written."""
    message = build_raw(
        sender,
        text=text,
        data=data,
        sms_class=sms_class,
        unicode=unicode,
        udh=udh,
        when=when,
        smsc=smsc,
    )
    return deliver(device_dir, [message])[0]


def wait_consumed(paths: Iterable[Path], timeout: float = 10.0) -> None:
    """Wait until gammu-smsd has taken every file in ``paths`` off the dummy SIM.

    gammu deletes a file only after its inbox row is committed. The parts of an
    incomplete concatenated SMS stay until the rest arrives or ``MultipartTimeout``.
    """
    pending = list(paths)
    wait_until(
        lambda: not any(path.exists() for path in pending),
        timeout,
        f"gammu-smsd to read {len(pending)} SMS file(s)",
    )


def simulate_duplicate(
    device_dir: Path,
    messages: Sequence[SmsDict],
    *,
    copies: int = 2,
    timeout: float = 10.0,
) -> None:
    """Make gammu-smsd store the same SMS ``copies`` times, as with an undeletable SIM.

    A modem that fails to delete an SMS presents it again on every poll, and gammu
    inserts a new inbox row each time. Here the identical parts are delivered again
    after gammu consumed the previous copy, one copy per poll, which leaves the same
    rows (every column equal but ``ID`` and ``UpdatedInDB``). Build ``messages``
    once with build_incoming or build_raw. For the failing delete itself (gammu
    logs ``Error deleting SMS``) see undeletable_sim.
    """
    for _ in range(copies):
        wait_consumed(deliver(device_dir, messages), timeout)


@contextlib.contextmanager
def undeletable_sim(
    device_dir: Path, messages: Iterable[SmsDict]
) -> Iterator[list[Path]]:
    """Deliver ``messages`` into a SIM inbox that gammu cannot delete from, until exit.

    gammu inserts the row first and deletes afterwards; the failed delete logs
    ``Error deleting SMS: Operation not allowed by phone`` and the same SMS is
    inserted again on every poll (one row per ``ReceiveFrequency``). On exit the
    folder is writable again and gammu stores one more copy and deletes the file.
    This works only when gammu-smsd does not run as root, which ignores directory
    permissions; as root, use simulate_duplicate.
    """
    if os.geteuid() == 0:
        raise DummyPhoneError("root deletes from a read-only folder; run as a user")
    folder = _make_sim_folders(device_dir)
    mode = stat.S_IMODE(folder.stat().st_mode)
    paths = deliver(device_dir, messages)
    # gammu deletes only after its insert has committed, milliseconds after it read
    # the file; the folder is read-only long before that.
    folder.chmod(mode & ~0o222)
    try:
        yield paths
    finally:
        folder.chmod(mode)


def _file_size(path: Path) -> int:
    """Return the size of ``path``, or 0 when it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_text(path: Path, offset: int = 0) -> str:
    """Return the text of ``path`` from byte ``offset``, or '' when it is missing."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
