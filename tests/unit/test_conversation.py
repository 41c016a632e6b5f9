"""What a batch answers a citizen whose SMS is no complaint, decided without a database."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa

from surgad import classifier, config, conversation, directory, intake, messages
from surgad.db import models, outbox

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 4, 2, 0, 0)
CITIZEN = "+6281234567001"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> config.Settings:
    directory = tmp_path_factory.mktemp("config")
    for name in ("surgad.toml", "units-kediri.toml"):
        shutil.copy(REPO / "config" / name, directory / name)
    return config.load([directory / "surgad.toml"])


@pytest.fixture(scope="module")
def engine(settings: config.Settings) -> classifier.Classifier:
    return classifier.Classifier.from_config(settings.lexicon)


def dry_batch(settings: config.Settings, replied: int = 0) -> conversation.Batch:
    """Return a batch that decides without a database, for a sender with no complaint."""
    roster = directory.Directory(
        heads={code: unit.heads for code, unit in settings.units.items()},
        units_of={}, mayors=frozenset(settings.mayor_numbers), blocked=frozenset(),
        deadlines={}, loaded_at=0.0,
    )
    state = conversation.SenderState(
        frozenset({CITIZEN}), {}, {CITIZEN: replied} if replied else {}, {}
    )
    no_database = cast(sa.Connection, None)  # a dry batch must not use it
    return conversation.Batch(no_database, settings, roster, NOW, state, dry=True)


def handle(batch: conversation.Batch, engine: classifier.Classifier, text: str) -> None:
    """Let the batch decide one SMS from CITIZEN."""
    row = intake.InboxRow(id=7, received=NOW, stored=NOW, text_hex="", sender=CITIZEN,
                          coding="Default_No_Compression", udh="", sms_class=-1)
    found = engine.route(text, batch.settings.triage_threshold)
    message = intake.Message((row,), CITIZEN, text, NOW)
    batch.handle(message, conversation.read(text, found), {})


def recorded(batch: conversation.Batch) -> list[tuple[str, str | None]]:
    """Return the outcome and reason recorded for each inbox row, in order."""
    return [(row[1], row[3]) for row in batch.outcomes]


def answers(batch: conversation.Batch) -> list[tuple[str, str, str]]:
    """Return each SMS queued: to whom, its kind and its text."""
    return [(sms.destination, outbox.creator_kind(sms.creator), sms.text) for sms in batch.sms]


@pytest.mark.parametrize(
    ("text", "word", "answer"),
    [
        ("CEK abc", "CEK", "SURGA: Format salah. Gunakan: CEK <tiket>. Untuk aduan baru"),
        ("status: kemarin", "CEK", "SURGA: Format salah. Gunakan: CEK <tiket>."),
        ("info dong", "INFO", messages.help_text()),
    ],
)
def test_a_text_that_starts_like_a_command_but_is_none_gets_its_format(
    settings: config.Settings, engine: classifier.Classifier, text: str, word: str,
    answer: str,
) -> None:
    """A text like "CEK abc" is no complaint and no command: the citizen is shown the format."""
    batch = dry_batch(settings)
    handle(batch, engine, text)
    assert recorded(batch) == [(models.NOT_COMPLAINT, f"not_complaint; {word} format sent")]
    ((to, kind, said),) = answers(batch)
    assert (to, kind) == (CITIZEN, "help") and said.startswith(answer)


def test_the_format_answer_keeps_to_the_hourly_reply_limit(
    settings: config.Settings, engine: classifier.Classifier
) -> None:
    """A number that had all its replies this hour gets none; the outcome says so."""
    batch = dry_batch(settings, replied=settings.replies_per_hour)
    handle(batch, engine, "CEK abc")
    reason = f"not_complaint; CEK format sent; {conversation.UNANSWERED}"
    assert recorded(batch) == [(models.NOT_COMPLAINT, reason)]
    assert answers(batch) == []


@pytest.mark.parametrize("text", ["halo", "selamat pagi cek", "cekabc"])
def test_other_texts_that_are_no_complaint_stay_unanswered(
    settings: config.Settings, engine: classifier.Classifier, text: str
) -> None:
    """Only a first word that is a citizen command word earns the format."""
    batch = dry_batch(settings)
    handle(batch, engine, text)
    assert [outcome for outcome, _reason in recorded(batch)] == [models.NOT_COMPLAINT]
    assert answers(batch) == []


def test_a_complaint_that_starts_with_cek_is_opened_not_answered_with_a_format(
    settings: config.Settings, engine: classifier.Classifier
) -> None:
    """A text such as "cek jalan rusak di ..." is a complaint like any other."""
    batch = dry_batch(settings)
    handle(batch, engine, "cek jalan rusak berlubang di jl semeru kel banjaran")
    assert [new.unit for new in batch.new] == ["PUPR"]
    assert answers(batch) == []


def test_a_referral_starting_with_a_command_word_gets_the_referral(
    settings: config.Settings, engine: classifier.Classifier
) -> None:
    """A referral's own answer wins: one SMS, not the format as well."""
    batch = dry_batch(settings)
    handle(batch, engine, "cek listrik padam, token pln habis")
    assert recorded(batch) == [(models.NOT_COMPLAINT, "referral")]
    assert answers(batch) == [(CITIZEN, "referral", messages.referral())]
