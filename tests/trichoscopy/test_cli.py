"""``mesoclinic trichoscopy``: generate, analyze and evaluate from the command line.

Pure tests (no database): ``cli.main`` runs in-process on tiny images; one test runs the real
console entry point in a subprocess without Django settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mesoclinic.trichoscopy import cli
from mesoclinic.trichoscopy.evaluate import COUNT_ERROR_CLASSES, COUNT_ERROR_LABELS

# Easy seeds 5 and 6 at 320x240 hold a few hairs each; the analysis of one takes well under
# a second.
SIZE = "320x240"
FIRST_SEED = 5


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("generated") / "easy"
    code = cli.main(
        [
            "generate",
            "--tier",
            "easy",
            "--count",
            "2",
            "--seed",
            str(FIRST_SEED),
            "--size",
            SIZE,
            str(outdir),
        ]
    )
    assert code == 0
    return outdir


def _truth(outdir: Path, seed: int) -> dict:
    return json.loads((outdir / f"easy-{seed}.json").read_text())


def _analyze_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert cli.main(["analyze", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _image_with_most_hairs(
    outdir: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, float, dict]:
    best = None
    for seed in (FIRST_SEED, FIRST_SEED + 1):
        truth = _truth(outdir, seed)
        image = outdir / truth["image"]
        data = _analyze_json(capsys, str(image), "--um-per-px", str(truth["um_per_px"]))
        if best is None or len(data["hairs"]) > len(best[2]["hairs"]):
            best = (image, truth["um_per_px"], data)
    assert best is not None
    return best


def test_generate_writes_images_and_truth(generated: Path) -> None:
    names = sorted(path.name for path in generated.iterdir())
    assert names == ["easy-5.json", "easy-5.png", "easy-6.json", "easy-6.png"]
    for seed in (5, 6):
        truth = _truth(generated, seed)
        assert truth["image"] == f"easy-{seed}.png"
        assert truth["held_back"] is False
        assert truth["tier"] == "easy"
        assert truth["seed"] == seed
        assert (truth["width_px"], truth["height_px"]) == (320, 240)
        assert truth["count"] == sum(1 for hair in truth["hairs"] if hair["exit_in_image"])
        assert truth["um_per_px"] > 0
        with Image.open(generated / truth["image"]) as picture:
            assert picture.format == "PNG"
            assert picture.size == (320, 240)


def test_generate_prints_a_line_per_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        [
            "generate",
            "--tier",
            "medium",
            "--count",
            "1",
            "--seed",
            "3",
            "--held-back",
            "--size",
            "160x120",
            "--format",
            "jpg",
            str(tmp_path / "new" / "dir"),
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert "medium-held-back-3.jpg" in lines[0]
    assert lines[1].startswith("Wrote 1 medium held-back image")
    truth = json.loads((tmp_path / "new" / "dir" / "medium-held-back-3.json").read_text())
    assert truth["held_back"] is True
    assert truth["image"] == "medium-held-back-3.jpg"


def test_analyze_json(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = _truth(generated, FIRST_SEED)
    data = _analyze_json(
        capsys, str(generated / truth["image"]), "--um-per-px", str(truth["um_per_px"])
    )
    assert isinstance(data["summary"]["count"], int)
    assert data["image"] == {"width_px": 320, "height_px": 240}
    assert data["um_per_px"] == pytest.approx(truth["um_per_px"])


def test_analyze_summary_and_overlay(
    generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = _truth(generated, FIRST_SEED)
    overlay = tmp_path / "overlay.png"
    code = cli.main(
        [
            "analyze",
            str(generated / truth["image"]),
            "--um-per-px",
            str(truth["um_per_px"]),
            "--overlay",
            str(overlay),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    for expected in (
        "Hairs counted:",
        "Density:",
        "vellus",
        "Width histogram",
        "check every hair on the overlay",
    ):
        assert expected in out
    with Image.open(overlay) as picture:
        assert picture.format == "PNG"
        assert picture.size == (320, 240)


def test_analyze_with_a_device_profile_and_a_region(
    generated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _analyze_json(
        capsys,
        str(generated / "easy-5.png"),
        "--device",
        "dermatoscope-50x-1280",
        "--roi",
        "10,10,200,150",
    )
    assert data["um_per_px"] == 2.7
    assert data["roi"]["kind"] == "rect"


def test_analyze_refuses_without_calibration(
    generated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["analyze", str(generated / "easy-5.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "will not guess a calibration" in err


@pytest.mark.parametrize("value", ["0", "-1"])
def test_analyze_refuses_a_calibration_not_positive(
    generated: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert cli.main(["analyze", str(generated / "easy-5.png"), "--um-per-px", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "positive" in err
    assert "Traceback" not in err


def test_analyze_refuses_a_corrupt_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert cli.main(["analyze", str(broken), "--um-per-px", "3.5"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ")
    assert "Traceback" not in captured.err + captured.out


def test_analyze_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["analyze", str(tmp_path / "nothing.png"), "--um-per-px", "3.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "nothing.png" in err


def test_analyze_refuses_a_bad_region(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["analyze", str(generated / "easy-5.png"), "--um-per-px", "3.5", "--roi", "circle:1,2"]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("error: Region")


def test_corrections_remove_a_hair(
    generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, um_per_px, before = _image_with_most_hairs(generated, capsys)
    assert before["hairs"], "the generated images should hold at least one detected hair"
    fixes = tmp_path / "corrections.json"
    fixes.write_text(json.dumps([{"action": "remove", "hair_id": 1}]))
    after = _analyze_json(
        capsys, str(image), "--um-per-px", str(um_per_px), "--corrections", str(fixes)
    )
    assert len(after["hairs"]) == len(before["hairs"]) - 1
    assert 1 not in {hair["id"] for hair in after["hairs"]}
    assert after["corrections"] == [{"action": "remove", "hair_id": 1}]


def test_corrections_file_not_json(
    generated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixes = tmp_path / "corrections.json"
    fixes.write_text("remove hair 1")
    code = cli.main(
        [
            "analyze",
            str(generated / "easy-5.png"),
            "--um-per-px",
            "3.5",
            "--corrections",
            str(fixes),
        ]
    )
    assert code == 2
    assert "not a JSON file of corrections" in capsys.readouterr().err


def test_evaluate_prints_the_table(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["evaluate", str(generated), "--repeat", "1"])
    assert code in (0, 1)
    out = capsys.readouterr().out
    for label in (
        "images",
        "true hairs",
        "count MAPE %",
        "count bias %",
        "F1",
        "width median abs error",
        "vellus/terminal accuracy",
        "repeatability CV %",
        "s/image",
        "peak MB",
    ):
        assert label in out
    assert out.splitlines()[0] == "easy"
    assert ("All targets met." in out) == (code == 0)
    for line in out.splitlines():
        if line.startswith("  count errors: "):
            for part in line.removeprefix("  count errors: ").split(", "):
                label, _, number = part.rpartition(" ")
                assert label in COUNT_ERROR_LABELS.values() and int(number) > 0


def test_evaluate_json(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["evaluate", str(generated), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert [group["name"] for group in data["groups"]] == ["easy"]
    assert data["groups"][0]["images"] == 2
    assert len(data["groups"][0]["per_image"]) == 2
    assert data["all_targets_met"] == (code == 0)
    # Why the count is off, by class: the classes add up to the count's error.
    errors = data["groups"][0]["count_errors"]
    assert tuple(errors) == COUNT_ERROR_CLASSES
    over = sum(errors[key] for key in ("counted_exit_beyond", "false_along_a_hair"))
    over += errors["false_elsewhere"]
    net = sum(image["count_error"] for image in data["groups"][0]["per_image"])
    assert over - (sum(errors.values()) - over) == net


def test_evaluate_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["evaluate", str(tmp_path)]) == 2
    assert "no truth files" in capsys.readouterr().err


def test_bad_arguments_return_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["generate", "--tier", "impossible", "--count", "1", "x"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_needs_no_django(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    args = [
        "trichoscopy",
        "generate",
        "--tier",
        "easy",
        "--count",
        "1",
        "--size",
        "64x48",
        str(tmp_path),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "mesoclinic", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "easy-1.png").exists()
    # The same entry point, checked not to import Django at all.
    check = (
        "import sys\n"
        "from mesoclinic.__main__ import main\n"
        f"sys.argv = ['mesoclinic', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "assert 'django' not in sys.modules, 'Django was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
