"""Pin how surgad.classifier routes SMS with the shipped Kota Kediri unit file."""

from __future__ import annotations

import collections
import csv
import tomllib
from pathlib import Path

import pytest

from surgad import classifier

ROOT = Path(__file__).resolve().parents[2]
UNITS_FILE = ROOT / "config" / "units-kediri.toml"
DEV_CSV = ROOT / "tests" / "data" / "complaints-dev.csv"  # a copy of the labelled dev set

# Measured on complaints-dev.csv when the lexicon was written: 391/400 right,
# 1 NONE message routed to a unit. The floors leave room for lexicon edits.
DEV_ACCURACY_FLOOR = 0.93
DEV_NONE_LEAK_CEILING = 3
# The shipped triage_threshold (config/surgad.toml): below it a unit is unsure.
TRIAGE_THRESHOLD = 0.3


@pytest.fixture(scope="module")
def engine() -> classifier.Classifier:
    with UNITS_FILE.open("rb") as handle:
        return classifier.Classifier.from_config(tomllib.load(handle))


def code_of(engine: classifier.Classifier, text: str) -> str | None:
    return engine.classify(text).code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("tlg jln dpn rmh sy bolong2 bgt, udh ada yg jatuh", "PUPR"),
        ("smph blm diambil 4 hr, bau bgt", "DLHKP"),
        ("lmpu jln mati smua, gelap", "DISHUB"),
        ("air pdam gk ngalir dr kmrn", "PDAM"),
        ("jukir minta 5rb tp gk ada karcis", "DISHUB"),
        ("ktp sy blm jd2 udh 3 bln", "DUKCAPIL"),
    ],
)
def test_sms_slang_and_abbreviations(
    engine: classifier.Classifier, text: str, code: str
) -> None:
    """SMS abbreviations (tlg, jln, gk, blm, udh, bgt ...) are expanded first."""
    assert code_of(engine, text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("banyu PDAM ora mili wes rong dino, tulung pak", "PDAM"),
        ("uwuh nang pinggir dalan numpuk, mambu bacin", "DLHKP"),
        ("dalane growong akeh, nek udan dadi kubangan", "PUPR"),
        ("lampu dalan nang gang 4 mati kabeh, peteng ndedet", "DISHUB"),
        ("onok ulo gedhe mlebu omah, tulung ndang rene", "SATPOL"),
        ("asu-asu liar nang kampung akeh, bocah-bocah wedi", "DKPP"),
    ],
)
def test_javanese_messages(engine: classifier.Classifier, text: str, code: str) -> None:
    """Javanese words and suffixes (banyu, uwuh, dalane, omah) map to the topic."""
    assert code_of(engine, text) == code


@pytest.mark.parametrize(
    "text",
    [
        "ndalan neng ngarep sekolahan bolong, bengi ra ketok",
        "dalan cedhak masjid bolong akeh",
        "jalan di samping sekolah bolong gede bgt",
    ],
)
def test_place_between_topic_words_does_not_split_them(
    engine: classifier.Classifier, text: str
) -> None:
    """ "dalan [neng ngarep omah] bolong" reads like "dalan bolong": the place drops out."""
    assert engine.route(text, TRIAGE_THRESHOLD).code == "PUPR"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("wis ping telu onok montor tibo neng dalan kuwi, bolonge jero", "PUPR"),
        ("kreteg cilik neng kampungku pagere jebol", "PUPR"),
        ("uwuh neng ngisor jembatan numpuk, mambune nganti mlebu omah", "DLHKP"),
        ("tonggo ngobong uwuh saben bengi, kebule mlebu omah", "DLHKP"),
        ("wong dodol neng trotoar akeh, satpol ora tau teko", "SATPOL"),
        ("mbah ngarep omah urip dhewe, turu neng emperan", "DINSOS"),
        ("lemut akeh banget, bocah-bocah mriyang kabeh", "DINKES"),
    ],
)
def test_javanese_topic_words(
    engine: classifier.Classifier, text: str, code: str
) -> None:
    """Ngoko words (tibo, kreteg, ngisor, ngobong, dodol ...) count as their topic."""
    assert engine.route(text, TRIAGE_THRESHOLD).code == code


def test_place_words_alone_leave_nothing_to_score() -> None:
    """The near word, a "di" before it and the landmark drop out as one place."""
    engine = classifier.Classifier(
        {"A": ["jalan bolong"], "B": ["bolong", "depan"]},
        places=classifier.Places(near=["depan"], filler=["di"], landmarks=["rumah"]),
        scoring=classifier.Scoring(topic_floor=0.0),
    )
    assert engine.classify("jalan di depan rumah bolong").scores == {"A": 1.5, "B": 0.0}
    found = engine.classify("depan rumah")
    assert (found.kind, found.confidence) == (classifier.NOT_COMPLAINT, 1.0)


def test_capitals_do_not_change_the_result(engine: classifier.Classifier) -> None:
    """An SMS typed in capitals is classified exactly like its lower-case form."""
    text = "GOT DEPAN RUMAH MAMPET BAU BGT. JL SEMERU GG 2"
    assert engine.classify(text) == engine.classify(text.lower())
    assert code_of(engine, text) == "PUPR"


def test_fullwidth_text_is_classified_like_ascii(engine: classifier.Classifier) -> None:
    """An SMS typed in fullwidth forms (a CJK keyboard mode) reads as its ASCII form."""
    text = "got depan rumah mampet bau bgt. jl semeru gg 2"
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" for ch in text)
    assert engine.classify(fullwidth) == engine.classify(text)


def test_punctuation_between_words_is_like_a_space(
    engine: classifier.Classifier,
) -> None:
    """Words glued by commas or slashes ("mati,gelap") read as separate words."""
    text = "lampu jalan mati gelap, rt 3 kel ngampel"
    glued = "lampu/jalan/mati,gelap.rt 3,kel-ngampel"
    assert engine.classify(glued) == engine.classify(text)


def test_results_do_not_depend_on_the_spelling_caches(
    engine: classifier.Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Caches cleared every few words still give the same classifications."""
    texts = [
        "sampahhh numpukkk bauuuu, depan pasar bandar",
        "PJU MATI JL VETERAN",
        "mohon pohonnya dipangkas, rantingnya kena kabel rt 02 rw 05",
    ]
    expected = [engine.classify(text) for text in texts]
    monkeypatch.setattr(classifier, "_CACHE_LIMIT", 2)
    with UNITS_FILE.open("rb") as handle:
        small = classifier.Classifier.from_config(tomllib.load(handle))
    assert [small.classify(text) for text in texts * 2] == expected * 2


def test_letter_runs_and_reduplication(engine: classifier.Classifier) -> None:
    """Stretched letters ("bauuuu") and "kata2" reduplication still match words."""
    assert code_of(engine, "sampahhh numpukkk bauuuu bangettt") == "DLHKP"
    assert code_of(engine, "aspal jl mauni retak2 dan ambles2") == "PUPR"


def test_affixes_are_stripped_to_listed_words(engine: classifier.Classifier) -> None:
    """Affixed forms (dipangkas, sampahnya, diangkut) count as their base word."""
    assert code_of(engine, "mohon pohonnya dipangkas, rantingnya kena kabel") == "DLHKP"
    assert code_of(engine, "sampahnya belum diangkut seminggu") == "DLHKP"


def test_nik_format_classifies_the_isi_only(engine: classifier.Classifier) -> None:
    """In NIK#Nama#Isi only the Isi counts; the name is never a topic."""
    found = engine.classify(
        "3571020000003345#Siti Nurhayati#air pdam di rumah saya Kel. Balowerti keruh"
    )
    assert (found.code, found.kelurahan) == ("PDAM", "Balowerti")
    assert code_of(engine, "3571010000002001#Taman Sampah Pasar#tes") is None


@pytest.mark.parametrize(
    "text",
    [
        "NIK#3571020000003345#Taman Sari#air pdam keruh",
        "NIK: 3571020000003345#Nama: Taman Sari#air pdam keruh",
        "Taman Sari#No KTP 3571020000003345#air pdam keruh",
    ],
)
def test_nik_format_labels_are_not_topics(
    engine: classifier.Classifier, text: str
) -> None:
    """ "NIK" and the name in a labelled NIK#Nama#Isi score for no unit."""
    found = engine.classify(text)
    assert found.code == "PDAM"
    assert found.scores["DUKCAPIL"] == found.scores["DLHKP"] == 0.0


def test_short_hash_numbers_are_not_nik(engine: classifier.Classifier) -> None:
    """Only a 16-digit NIK opens the Surga format; "cek#2417" is a status query."""
    assert engine.classify("cek#2417").kind == classifier.STATUS_QUERY


@pytest.mark.parametrize(
    ("text", "code", "kelurahan"),
    [
        ("lampu jalan mati di kel tamanan", "DISHUB", "Tamanan"),
        ("sampah numpuk di kel pesantren", "DLHKP", "Pesantren"),
        (
            "antrian panjang di terminal kel bandar lor, angkot ngetem",
            "DISHUB",
            "Bandar Lor",
        ),
        ("air pdam mati kel ngronggo", "PDAM", "Ngronggo"),
    ],
)
def test_kelurahan_names_are_location_not_topic(
    engine: classifier.Classifier, text: str, code: str, kelurahan: str
) -> None:
    """Tamanan, Pesantren, Bandar Lor and Ngronggo are places, not parks or schools."""
    found = engine.classify(text)
    assert (found.code, found.kelurahan) == (code, kelurahan)
    assert found.scores.get("DISDIK", 0.0) == 0.0


def test_kelurahan_spellings_and_common_word_names(
    engine: classifier.Classifier,
) -> None:
    """Aliases map to the official name; names that are common words need "kel."."""
    assert engine.classify("got mampet kampung dalem").kelurahan == "Kampungdalem"
    assert engine.classify("got mampet di kel pojok").kelurahan == "Pojok"
    assert engine.classify("got mampet di pojok gang").kelurahan is None


def test_kecamatan_is_not_reported_as_kelurahan(engine: classifier.Classifier) -> None:
    """ "Kecamatan Pesantren" is a district; it is masked but not a kelurahan."""
    found = engine.classify("pipa pdam bocor di wilayah kecamatan pesantren")
    assert (found.code, found.kelurahan) == ("PDAM", None)


def test_landmark_after_near_word_is_not_topic(engine: classifier.Classifier) -> None:
    """ "depan pasar" / "dekat sekolah" locate the problem; the problem decides."""
    assert code_of(engine, "got depan pasar bandar mampet, airnya meluber") == "PUPR"
    assert code_of(engine, "lampu jalan dekat sekolah mati") == "DISHUB"


@pytest.mark.parametrize(
    "text",
    ["selamat pagi min", "assalamualaikum", "halo", "sugeng dalu pak"],
)
def test_greetings_are_not_complaints(engine: classifier.Classifier, text: str) -> None:
    """Greetings alone reach no unit."""
    found = engine.classify(text)
    assert (found.code, found.kind) == (None, classifier.NOT_COMPLAINT)


@pytest.mark.parametrize(
    "text",
    ["tes", "TES TES", "PING", "nomer iki isih aktif to?", "3571010000002001#Joko#tes"],
)
def test_tests_are_not_complaints(engine: classifier.Classifier, text: str) -> None:
    """Test messages and "is this number active" reach no unit."""
    found = engine.classify(text)
    assert (found.code, found.kind) == (None, classifier.NOT_COMPLAINT)


@pytest.mark.parametrize("text", ["🙏🙏🙏", "👍", "...", ""])
def test_empty_and_emoji_only(engine: classifier.Classifier, text: str) -> None:
    """A message with no words is certainly not a complaint."""
    found = engine.classify(text)
    assert (found.code, found.kind, found.confidence) == (None, "not_complaint", 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "makasih pak jalannya udh diaspal, mantap 👍",
        "matur nuwun sanget pak, lampu dalan sampun murup malih",
        "Terima kasih, sampah di lingkungan kami sudah bersih.",
    ],
)
def test_thanks_are_not_forwarded(engine: classifier.Classifier, text: str) -> None:
    """Thanks that mention a fixed road or lamp are still not complaints."""
    found = engine.classify(text)
    assert (found.code, found.kind) == (None, classifier.NOT_COMPLAINT)


def test_thanks_with_an_open_problem_is_a_complaint(
    engine: classifier.Classifier,
) -> None:
    """A thanks followed by "tapi ... masih mati" reports a remaining problem."""
    text = "makasih lampu jalan udh nyala, tp yg dkt pos ronda msh mati"
    found = engine.classify(text)
    assert (found.code, found.kind) == ("DISHUB", classifier.COMPLAINT)


@pytest.mark.parametrize(
    "text",
    [
        "Pinjaman online cair 5 menit tanpa jaminan, klik bit.ly/xxxx",
        "Slot gacor maxwin hr ini bosku! Depo 10rb",
        "mama lg di kantor polisi, tlg beliin pulsa 100rb ke nomor ini",
        "Sisa pulsa Anda Rp1.250. Masa aktif s.d 14-07-2025. Isi ulang sekarang.",
        "SEBARKAN!! BESOK ADA RAZIA KTP DAN SIM. KIRIM KE 10 ORANG",
    ],
)
def test_spam_is_dropped(engine: classifier.Classifier, text: str) -> None:
    """Scams, gambling, operator promos and chain messages reach no unit."""
    found = engine.classify(text)
    assert (found.code, found.kind) == (None, classifier.NOT_COMPLAINT)


@pytest.mark.parametrize(
    "text",
    [
        "status aduan 456",
        "CEK 123",
        "gmn aduan sy no 77 kok blm ada kabar",
        "pak aduan kulo nomer 312 wingi kok dereng wonten tindak lanjut",
    ],
)
def test_status_queries(engine: classifier.Classifier, text: str) -> None:
    """Questions about an earlier complaint are status queries, not new ones."""
    found = engine.classify(text)
    assert (found.code, found.kind) == (None, classifier.STATUS_QUERY)


@pytest.mark.parametrize(
    "text",
    [
        "listrik di kel sukorame padam dr jam 7 pagi. PLN kmn nih",
        "sinyal nang kel pojok ilang terus, tower e ditambah",
        "kartu bpjs mandiri sy nunggak 2jt, bisa dicicil?",
        "motor sy dicuri di parkiran kos semalam, lapor kemana?",
        "jln di pare dkt kampung inggris rusak parah",
        "lampu di kawasan SLG bnyk yg mati",
        "banyu blabur mlebu omah nang gampengrejo, nyuwun tulung",
    ],
)
def test_referrals(engine: classifier.Classifier, text: str) -> None:
    """PLN, telecom, BPJS, police and Kabupaten Kediri get a referral, no unit."""
    found = engine.classify(text)
    assert (found.code, found.kind) == (None, classifier.REFERRAL)


def test_bpjs_inside_a_hospital_complaint_is_not_a_referral(
    engine: classifier.Classifier,
) -> None:
    """A passing "pake bpjs" does not turn a hospital complaint into a referral."""
    assert code_of(engine, "obat di apotek rsud ga lengkap, pdhl pake bpjs") == "RSUD"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("banjir masuk rumah warga setinggi paha, tolong evakuasi", "BPBD"),
        ("tiap hujan jalan tergenang karena got kecil dan mampet", "PUPR"),
        ("sampah di dalam pasar bandar numpuk berhari hari", "PASAR"),
        ("tumpukan sampah di pinggir jalan samping pasar setonobetek", "DLHKP"),
        ("di taman brantas lampunya banyak yang mati, gelap", "DLHKP"),
        ("parkir di dalam rsud ditarik 5rb padahal karcis 2rb", "RSUD"),
        ("parkir liar di pinggir jalan bikin macet", "DISHUB"),
        ("pohon tumbang menutup jalan, tolong dipotong", "BPBD"),
        ("pohon miring ke arah kabel, mohon dipangkas", "DLHKP"),
        ("pkl jualan di trotoar sampai pejalan kaki turun ke jalan", "SATPOL"),
        ("trotoar ambles dan keramiknya pecah", "PUPR"),
        ("bekas galian pipa pdam cuma diurug tanah, sekarang ambles", "PDAM"),
        ("got mampet penuh sampah plastik, air meluber ke jalan", "PUPR"),
        ("rumah kami kebakaran minggu lalu, bantuan dari dinsos bagaimana", "DINSOS"),
        ("paving prodamas baru 3 bulan sudah ambles, dananya kemana", "KEL"),
    ],
)
def test_boundary_rules(engine: classifier.Classifier, text: str, code: str) -> None:
    """The boundary rules of the department list decide between close units."""
    assert code_of(engine, text) == code


def test_confidence_orders_clear_over_mixed(engine: classifier.Classifier) -> None:
    """A one-topic SMS is more certain than one that mixes two units' words."""
    clear = engine.classify("air pdam mati total, tagihan tetap naik")
    mixed = engine.classify("lampu jalan mati dan ada lubang besar di jalan")
    weak = engine.classify("tolong cek lampu")
    assert 1.0 >= clear.confidence > mixed.confidence >= 0.0
    assert clear.confidence > weak.confidence


def test_confidence_grows_with_evidence(engine: classifier.Classifier) -> None:
    """More words for the same unit raise the confidence, never past 1."""
    one = engine.classify("pdam tolong")
    many = engine.classify("pdam tolong, air keruh, pipa bocor, tagihan air naik")
    assert one.code == many.code == "PDAM"
    assert one.confidence < many.confidence < 1.0


def test_confidence_is_the_damped_margin() -> None:
    """Confidence is (s1 - s2) / s1 * s1 / (s1 + saturation): 0 for a tie."""
    engine = classifier.Classifier(
        {"A": ["alpha"], "B": ["beta"]},
        open_issue=["tolong"],
        scoring=classifier.Scoring(topic_floor=0.0, saturation=2.0),
    )
    assert engine.classify("alpha tolong").confidence == pytest.approx(1 / 3, abs=1e-3)
    assert engine.classify("alpha beta tolong").confidence == 0.0


def test_route_sends_unsure_complaints_to_triage(
    engine: classifier.Classifier,
) -> None:
    """route() gives the triage unit complaints below the threshold or with no unit."""
    assert engine.route("tolong cek lampu", threshold=0.9).code == "TRIASE"
    assert engine.route("gas elpiji 3 kg langka", threshold=0.3).code == "TRIASE"
    assert engine.route("PJU mati jl semeru", threshold=0.3).code == "DISHUB"
    assert engine.route("tes", threshold=0.9).code is None


def test_operator_topics_have_no_unit(engine: classifier.Classifier) -> None:
    """Topics of offices without a code (LPG, PBB) are complaints for no unit."""
    found = engine.classify("pbb rumah saya naik drastis, mohon dicek")
    assert (found.code, found.kind) == (None, classifier.COMPLAINT)


def test_chatter_with_one_everyday_word_is_not_a_complaint(
    engine: classifier.Classifier,
) -> None:
    """A personal message that only mentions "pasar" or "sekolah" reaches no unit."""
    chatter = ("bu, aku wis tekan pasar, arep tuku apa?", "nanti jemput di sekolah ya")
    for text in chatter:
        assert engine.classify(text).kind == classifier.NOT_COMPLAINT


def test_scores_name_every_unit_except_triage(engine: classifier.Classifier) -> None:
    """scores holds one raw score per routable unit, for `surgad classify`."""
    scores = engine.classify("jalan rusak").scores
    assert "TRIASE" not in scores
    assert len(scores) == 15
    assert max(scores, key=scores.__getitem__) == "PUPR"


def test_plain_keyword_lists_and_phrases() -> None:
    """A minimal classifier takes plain lists; a phrase outweighs a single word."""
    engine = classifier.Classifier(
        {"PUPR": ["jalan rusak", "got + bau"], "DLHKP": ["rusak", "bau"]},
        scoring=classifier.Scoring(topic_floor=1.0),
    )
    assert engine.classify("jalan rusak parah").code == "PUPR"
    assert engine.classify("got di gang kami bau").code == "PUPR"
    assert engine.classify("taman rusak dan bau").code == "DLHKP"


def test_longest_phrase_wins_and_matching_resumes_after_it() -> None:
    """The longest listed phrase at a word wins; a partial one falls back."""
    engine = classifier.Classifier(
        {"A": ["lampu jalan mati"], "B": ["lampu", "jalan mati", "jalan"]},
        scoring=classifier.Scoring(topic_floor=0.0),
    )
    # "lampu jalan mati" takes all three words, so B's words inside it are spent.
    assert engine.classify("lampu jalan mati").scores == {"A": 2.0, "B": 0.0}
    # "lampu jalan rusak" is not listed: "lampu" counts, then "jalan" alone.
    assert engine.classify("lampu jalan rusak").scores == {"A": 0.0, "B": 2.0}


def test_rule_sides_must_be_single_words() -> None:
    """A "+" rule with a phrase on one side is refused when the lexicon compiles."""
    with pytest.raises(classifier.LexiconError):
        classifier.Classifier({"PUPR": ["jalan rusak + lubang"]})


def test_malformed_unit_file_is_refused() -> None:
    """Words that are not lists of strings stop the lexicon from loading."""
    with pytest.raises(classifier.LexiconError):
        classifier.Classifier.from_config({"units": {"PUPR": {"strong": "aspal"}}})
    with pytest.raises(classifier.LexiconError):
        classifier.Classifier.from_config({"units": {}, "scoring": {"strong": "x"}})


def _dev_rows() -> list[dict[str, str]]:
    with DEV_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_dev_set_accuracy(engine: classifier.Classifier) -> None:
    """Accuracy on the labelled dev SMS stays above the measured floor."""
    rows = _dev_rows()
    right = sum(
        (code_of(engine, row["text"]) or "NONE") == row["department"] for row in rows
    )
    assert right / len(rows) >= DEV_ACCURACY_FLOOR


def test_dev_set_none_messages_are_not_forwarded(engine: classifier.Classifier) -> None:
    """Almost no NONE-labelled dev SMS reaches a unit head."""
    leaked = collections.Counter(
        code_of(engine, row["text"])
        for row in _dev_rows()
        if row["department"] == "NONE"
    )
    leaked.pop(None, None)
    assert sum(leaked.values()) <= DEV_NONE_LEAK_CEILING


def test_lexicon_errors_name_the_key_of_the_unit_file() -> None:
    """Each problem names the dotted key it was found at, for the config error."""
    with pytest.raises(classifier.LexiconError) as caught:
        classifier.Classifier.from_config({"units": {}, "scoring": {"saturation": 0}})
    assert (caught.value.key, caught.value.problem) == (
        "scoring.saturation",
        "must be above 0, got 0",
    )
    with pytest.raises(classifier.LexiconError) as caught:
        classifier.Classifier({"PUPR": {"weak": ["jalan", "!!"]}})
    assert caught.value.key == "units.PUPR.weak"
    with pytest.raises(classifier.LexiconError) as caught:
        classifier.Classifier.from_config({"units": {}, "scoring": 3})
    assert (caught.value.key, caught.value.problem) == ("scoring", "must be a table")


def test_one_parsed_unit_file_is_compiled_once() -> None:
    """Asked again for the same parsed file (config check, then worker): no rebuild."""
    data = {"units": {"PUPR": ["jalan"]}}
    first = classifier.Classifier.from_config(data)
    assert classifier.Classifier.from_config(data) is first
    again = {"units": {"PUPR": ["jalan"]}}
    assert classifier.Classifier.from_config(again) is not first
