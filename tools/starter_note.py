"""Write the starter model's note into its card and NAME.md (models/default.*).

The starter is the default recipe fitted on the whole of CLIVE (docs/STUDY.md round 7):
    python3 ../shared/data/prepare_clive.py --git-dir SNAPSHOT --out clive
    spe-train fit clive --out models/default.tflite
    python tools/starter_note.py models/default.tflite
The card's sha256 is of the .tflite, so the note can be set after the fit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scorer.model.card import read_card
from trainer.export.card_md import write_card_md

NOTE = (
    "Starter model: spe-train fit's default recipe (a ridge on an ImageNet-trained "
    "MobileNetV2) fitted on the 1,162 photos of the LIVE In the Wild Image Quality "
    "Challenge Database (CLIVE), not on anyone's posts. Its number is not likes: it "
    "predicts how people rated a photo's quality, on CLIVE's 0-100 scale (each photo's "
    "mean of about 175 ratings), so it ranks sharp, well-exposed photos above blurred or "
    "dark ones; the percentile is among CLIVE's photos. Data: Copyright (c) 2015 The "
    "University of Texas at Austin, free for any use with its notice kept (LIVE_NOTICE.txt "
    "beside this card) and the database cited: D. Ghadiyaram and A.C. Bovik, \"Massive "
    "Online Crowdsourced Study of Subjective and Objective Picture Quality\", IEEE "
    "Transactions on Image Processing, 2016. The backbone's weights were trained on "
    "ImageNet, whose images are for research and non-commercial use. For predictions of "
    "your own likes, train on your own posts: spe-train fit YOUR_FOLDER --out my.tflite."
)


def main(model: Path) -> None:
    card_path = model.with_suffix(".json")
    raw = json.loads(card_path.read_text())
    raw["note"] = NOTE
    raw["training"]["what_it_predicts"] = ("people's rating of the photo's quality, 0-100 "
                                           "(CLIVE's mean opinion scores), not likes")
    card_path.write_text(json.dumps(raw, indent=1) + "\n")
    write_card_md(model, read_card(model))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
