"""``spe rank --html``: one self-contained page of the photos, best first.

Everything is inside the file (thumbnails as data: URIs, the style inline, no
script or font from anywhere else), so it opens offline, can be mailed, and
shows nothing to anyone but its reader. Every text from outside (file names,
the card's note, error reasons) is escaped.
"""

from __future__ import annotations

import base64
import html
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

from scorer.commands.rank import Ranked, Ranking
from scorer.core.errors import OutputError, os_reason
from scorer.core.ownfiles import replaced
from scorer.model import cardtext
from scorer.model.card import ModelCard
from scorer.photos.crops import Insight

STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
.model { color: #555; margin-bottom: 1.5em; }
ol { list-style: none; padding: 0; }
li { display: flex; gap: 1em; align-items: center; border-bottom: 1px solid #ddd;
     padding: 0.6em 0; }
.rank { font-size: 1.6em; width: 2.2em; text-align: right; color: #888; }
img { width: 160px; height: 160px; object-fit: cover; border-radius: 4px; background: #eee; }
.name { font-weight: 600; word-break: break-all; }
.bar { background: #eee; height: 0.7em; width: 16em; border-radius: 0.35em; margin-top: 0.3em; }
.bar span { display: block; height: 100%; background: #3a7; border-radius: 0.35em; }
.failed li { display: list-item; color: #a33; }
.pic { position: relative; flex: none; }
.pic img { width: 100%; height: 100%; object-fit: fill; }
.crop { position: absolute; box-sizing: border-box; border: 2px solid; border-radius: 2px; }
.crop-1x1 { border-color: #ffd400; } .crop-4x5 { border-color: #00c8ff; }
.crop-191x1 { border-color: #ff4fd8; }
.heat { position: absolute; inset: 0; display: grid; pointer-events: none; }
#heat:not(:checked) ~ ol .heat { display: none; }
.crops { color: #555; font-size: 0.9em; }
.crops b { font-weight: 600; } .k-1x1 { color: #a88a00; } .k-4x5 { color: #0088b0; }
.k-191x1 { color: #c0309f; }
.opinion { color: #555; margin: 0.3em 0 1em; }
.frame { width: 160px; flex: none; display: flex; justify-content: center; }
"""
# Drawn on a thumbnail this many pixels on its longer side (crops and the heat map).
PICTURE_SIDE = 160
# Red where covering a cell lowers the prediction (the score comes from there), blue where
# it raises it; the strongest cell of the photo at this opacity.
HEAT_ALPHA = 0.55

# Counts the pictures the browser could show, and the heat maps shown with the switch on
# and off (switched twice: the page is left as it was); a test reads them from the DOM.
SCRIPT = """
window.addEventListener("load", function () {
  var shown = 0;
  document.querySelectorAll("img").forEach(function (img) {
    if (img.complete && img.naturalWidth > 0) { shown += 1; }
  });
  document.body.setAttribute("data-shown", String(shown));
  var toggle = document.getElementById("heat");
  if (!toggle) { return; }
  function visible() {
    var n = 0;
    document.querySelectorAll(".heat").forEach(function (h) {
      if (getComputedStyle(h).display !== "none") { n += 1; }
    });
    return String(n);
  }
  document.body.setAttribute("data-heat-on", visible());
  toggle.click();
  document.body.setAttribute("data-heat-off", visible());
  toggle.click();
});
"""


# Every page spe rank writes holds this in its head (pages of earlier versions too):
# what tells a page it may replace from a photo or a file of the person's.
PAGE_SIGNATURE = b"<title>Your photos, ranked</title>"


def check_page_target(out: Path) -> None:
    """OutputError unless ``out`` is free, or a page that spe rank wrote: ``spe rank
    --html *.jpg`` takes the first photo's name as the page's, and must not write the
    page over it."""
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the page ({os_reason(exc)})") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{out}: is not a regular file: refused as the page's path")
    try:
        fd = os.open(out, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            head = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError:
        head = b""
    if PAGE_SIGNATURE not in head:
        raise OutputError(f"{out}: exists and is not a page spe rank wrote (a photo given "
                          "as --html?): refused, left as it is; give another --html path")


def data_uri(jpeg: bytes | None) -> str | None:
    return ("data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")) if jpeg else None


def write_html(ranking: Ranking, card: ModelCard, out: Path) -> None:
    """The page, written as it is made: one thumbnail in memory at a time, whatever the
    number of photos (each takes about 22 KB in the page), read back from the spool that
    the photos' one decode filled (scorer/commands/pageviews.py)."""
    e = html.escape
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = f"<div>{e(card.note)}</div>" if card.note else ""
    head = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="spe rank">
<title>Your photos, ranked</title><style>{STYLE}</style></head>
<body><h1>Your photos, ranked by predicted likes</h1>
<div class="model">{e(cardtext.summary(card))} Made {now}.{note}</div>
{_opinion_line(card) if any(r.insight for r in ranking.ranked) else ""}
<ol>"""
    failed = "".join(f"<li>{e(d)}: {e(why)}</li>" for d, why in ranking.failed)
    not_scored = f'<h2>Not scored</h2><ul class="failed">{failed}</ul>' if failed else ""
    tail = f"</ol>\n{not_scored}\n<script>{SCRIPT}</script></body></html>\n"
    with replaced(out) as handle:  # whole, and never through a link planted at its temp name
        handle.write(head.encode("utf-8"))
        for n, r in enumerate(ranking.ranked, start=1):
            jpeg = ranking.views.thumbnail(r.thumbnail) if ranking.views else None
            handle.write(_item(n, r, data_uri(jpeg)).encode("utf-8"))
        handle.write(tail.encode("utf-8"))


def _opinion_line(card: ModelCard) -> str:
    """The one line that says what the crops and maps are worth."""
    rho = card.measured_spearman
    quality = (f"its cross-validated Spearman is {rho:.2f}" if rho is not None
               else "its quality was not measured")
    return ('<input type="checkbox" id="heat" checked> <label for="heat">show where each '
            'score comes from</label>'
            f'<div class="opinion">The outlined crops (<span class="k-1x1">1:1</span>, '
            '<span class="k-4x5">4:5</span>, <span class="k-191x1">1.91:1</span>) and the '
            f"heat maps are the model's opinion, no more: {quality}.</div>")


def _item(n: int, r: Ranked, src: str | None) -> str:
    e = html.escape
    picture = (f'<img src="{src}" alt="{e(Path(r.display).name)}">' if src
               else '<div class="img">(no preview)</div>')
    crops = ""
    if r.insight is not None and src:
        picture, crops = _drawn(picture, r.insight)
    return (f'<li><div class="rank">{n}</div>{picture}<div>'
            f'<div class="name">{e(r.display)}</div>'
            f"<div>{r.predicted_likes:,.0f} likes predicted; above {r.percentile:.0f}% "
            f"of your posts</div>"
            f'<div class="bar" title="percentile {r.percentile:.0f}">'
            f'<span style="width: {max(0.0, min(100.0, r.percentile)):.0f}%"></span></div>'
            f"{crops}</div></li>")


def _drawn(picture: str, insight: Insight) -> tuple[str, str]:
    """The thumbnail with its best crops outlined and its heat map over it, and the line
    that names each crop's predicted likes."""
    scale = PICTURE_SIDE / max(insight.width, insight.height)
    width, height = max(1, round(insight.width * scale)), max(1, round(insight.height * scale))
    boxes, words = [], []
    for shape, crop in insight.crops.items():
        key = shape.replace(":", "x").replace(".", "")
        x, y, w, h = (100.0 * v / d for v, d in zip(
            crop["box"], (insight.width, insight.height, insight.width, insight.height),
            strict=True))
        boxes.append(f'<div class="crop crop-{key}" title="{shape}" style="left: {x:.1f}%; '
                     f'top: {y:.1f}%; width: {w:.1f}%; height: {h:.1f}%"></div>')
        words.append(f'<b class="k-{key}">{shape}</b> {crop["predicted_likes"]:,.0f} '
                     f'({crop["change"]:+,.0f})')
    picture = (f'<div class="frame"><div class="pic" style="width: {width}px; height: '
               f'{height}px">{picture}{_heat(insight.occlusion)}{"".join(boxes)}</div></div>')
    return picture, f'<div class="crops">best crops: {", ".join(words)}</div>'


def _heat(changes: list[list[float]]) -> str:
    if not changes:
        return ""
    strongest = max((abs(v) for row in changes for v in row), default=0.0) or 1.0
    cells = "".join(
        f'<div style="background: rgba({"220, 40, 40" if v < 0 else "40, 90, 220"}, '
        f'{HEAT_ALPHA * abs(v) / strongest:.2f})" title="{v:+.1f} likes if covered"></div>'
        for row in changes for v in row)
    grid = len(changes)
    return (f'<div class="heat" style="grid-template-columns: repeat({grid}, 1fr); '
            f'grid-template-rows: repeat({grid}, 1fr)">{cells}</div>')
