"""What a newcomer reads first holds: the two set-up commands on the first screen, every
command in the README's list, one model path for the service, and docs that do not send
the reader to an issue tracker they cannot see."""

from __future__ import annotations

import re

from tests.conftest import REPO, spe_train


def test_the_two_set_up_commands_are_in_the_first_25_lines():
    head = (REPO / "README.md").read_text().splitlines()[:25]
    assert any(line.startswith("python3.11 -m venv .venv && .venv/bin/pip install . &&")
               for line in head), head
    assert any("pip install '.[train,cluster,dev]' && .venv/bin/pytest" in line
               for line in head), head


def test_the_readme_lists_every_command():
    import typer

    from scorer.cli import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    text = (REPO / "README.md").read_text()
    listed = set(re.findall(r"^spe ([a-z-]+)", text, re.M))
    assert set(commands) <= listed, set(commands) - listed


def test_the_service_has_one_model_path():
    readme = re.findall(r"SPE_MODEL=(\S+?)`", (REPO / "README.md").read_text())
    example = re.findall(r"SPE_MODEL=(\S+)", (REPO / "systemd" / "watch.env.example").read_text())
    assert readme and set(readme) == set(example), (readme, example)


def test_the_docs_cite_no_issue_numbers():
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        cited = re.findall(r"\b[Ii]ssues? \d+", doc.read_text())
        assert not cited, (doc.name, cited)


def test_synth_over_a_data_set_is_refused_unless_forced_and_then_replaces_it(tmp_path):
    """60 pictures, then 10: before, pictures 11-60 stayed beside 10 likes."""
    from tests.conftest import spe_train

    data = tmp_path / "my-posts"
    assert spe_train("synth", str(data), "--n", "60").returncode == 0
    again = spe_train("synth", str(data), "--n", "10")
    assert again.returncode == 2
    assert again.stderr.strip() == (f"spe-train: {data}: already holds a synthetic data set: "
                                    "refused; --force replaces it, or give a new folder")
    assert len(list((data / "Images (jpg)").glob("*.jpg"))) == 60
    forced = spe_train("synth", str(data), "--n", "10", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(int(p.stem) for p in (data / "Images (jpg)").glob("*.jpg")) == list(
        range(1, 11))
    likes = [line for line in (data / "y_likes_data.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert len(likes) == 10


def test_synth_never_writes_into_a_folder_of_someone_s_photos(tmp_path):
    from tests.conftest import SAMPLES, spe_train

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "rocket.jpg").write_bytes((SAMPLES / "rocket.jpg").read_bytes())
    for extra in ([], ["--force"]):
        proc = spe_train("synth", str(mine), "--n", "5", *extra)
        assert proc.returncode == 2 and "refused, even with --force" in proc.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["rocket.jpg"]


def test_synth_help_says_what_each_rule_plants():
    from tests.conftest import spe_train

    text = " ".join(spe_train("synth", "--help").stdout.split())
    assert "trainer/data/synth.py" not in text
    for words in ("classic: brightness", "texture: a subject's stripes", "harmony: colour"):
        assert words in text, text


def test_fit_help_leaves_the_networks_from_nothing_to_help_all():
    """fit --help is what a newcomer reads: the default recipe's options; the options of
    the networks trained from nothing (--backbone none) are under --help-all."""
    short = spe_train("fit", "--help", env={"COLUMNS": "80"})
    full = spe_train("fit", "--help-all", env={"COLUMNS": "80"})
    assert short.returncode == 0 and full.returncode == 0
    assert len(short.stdout.splitlines()) <= 90 < len(full.stdout.splitlines())
    assert "--help-all" in short.stdout and "--backbone" in short.stdout
    for option in ("--members", "--epochs", "--architecture", "--tta", "--val-split"):
        declared = re.compile(rf"^  {option}[ /\n]", re.M)  # where an option is listed
        assert not declared.search(short.stdout) and declared.search(full.stdout), option
    cv = spe_train("cv", "--help-all")
    assert cv.returncode == 0 and "--members" in cv.stdout
