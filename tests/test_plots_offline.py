"""`dvc plots show` works without internet: the page inlines vega, and headless Chromium draws every plot.

DVC's default page loads vega, vega-lite and vega-embed from a CDN. `.dvc/config` points
`plots.html_template` at `.dvc/plots/offline_template.html`, which inlines them (rebuilt by
tools/build_plots_template.py). The end-to-end test opens the real page in Chromium with every
host name unresolvable, and keeps a screenshot at test-artifacts/plots.png.
"""
from __future__ import annotations

import math
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from configobj import ConfigObj

from tests.dvc_repo import dvc
from tools.build_plots_template import PACKAGES, TEMPLATE

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "test-artifacts" / "plots.png"
CHROMIUM = "/usr/bin/chromium"
# The drawn shapes of vega's SVG renderer (inside <g class="... role-mark">).
SVG_MARK_TAGS = {"path", "rect", "line", "circle", "ellipse", "polygon", "polyline", "image"}
HTML_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --- a minimal DOM, enough to query the page DVC wrote and the DOM Chromium dumped ---

@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)

    def walk(self):
        """This element and its descendants, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Element("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in HTML_VOID_TAGS:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return


def parse_html(text: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


# --- what dvc.yaml declares and what the page holds ---

def html_id(name: str) -> str:
    """The id DVC gives a plot's <div> (dvc_render's Renderer.remove_special_chars)."""
    return name.translate({ord(c): "_" for c in r"!@#$%^&*()[]{};,<>?\/:.|`~=_+ "})


def _files(repo: Path, path: str) -> list[str]:
    """A plot path as DVC expands it: a directory stands for every file under it."""
    if (repo / path).is_dir():
        return sorted(p.relative_to(repo).as_posix() for p in (repo / path).rglob("*") if p.is_file())
    return [path]


def declared_plots(repo: Path) -> list[tuple[str, list[str]]]:
    """(plot name, its data files) for every plot that the repository's dvc.yaml files declare (DVC
    reads them all: the pipeline's, and metrics/evaluate/dvc.yaml that evaluate writes for the
    task): each file's top-level `plots` list, then each stage's `plots` outputs. A file that is
    both is listed twice, as DVC draws it twice."""
    plots = []
    for dvc_yaml in sorted(repo.rglob("dvc.yaml")):
        base = dvc_yaml.parent.relative_to(repo)
        pipeline = yaml.safe_load(dvc_yaml.read_text())
        for entry in pipeline.get("plots", []):
            plot_id, props = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
            y = (props or {}).get("y")
            if isinstance(y, dict):  # a named plot drawn from several files
                plots.append((plot_id, [(base / source).as_posix() for source in y]))
            else:
                plots += [(path, [path]) for path in _files(repo, (base / plot_id).as_posix())]
        for name, stage in pipeline.get("stages", {}).items():
            for entry in stage.get("do", stage).get("plots", []):  # `do`: the body of a foreach stage
                path = entry if isinstance(entry, str) else next(iter(entry))
                assert "${" not in path, f"stage {name!r}: teach this test to expand the templated plot path {path!r}"
                plots += [(file, [file]) for file in _files(repo, (base / path).as_posix())]
    return plots


def plot_divs(dom: Element) -> list[Element]:
    """The <div id=...> DVC writes per plot, directly in <body>."""
    body = next(element for element in dom.walk() if element.tag == "body")
    return [child for child in body.children if child.tag == "div" and child.attrs.get("id")]


def drawings(div: Element, page_dir: Path) -> list[str]:
    """What a plot's <div> drew: a sized vega canvas, a vega SVG with marks, or an image DVC copied."""
    drawn = []
    for element in div.walk():
        if element.tag == "canvas" and element.has_class("marks"):  # vega-embed's default renderer
            width, height = int(element.attrs.get("width", 0)), int(element.attrs.get("height", 0))
            drawn.append(f"{'' if width and height else 'EMPTY '}canvas {width}x{height}")
        elif element.tag == "svg" and element.has_class("marks"):
            marks = sum(
                child.tag in SVG_MARK_TAGS
                for group in element.walk() if group.tag == "g" and group.has_class("role-mark")
                for child in group.children
            )
            drawn.append(f"svg with {marks} marks" if marks else "EMPTY svg")
        elif element.tag == "img":
            image = page_dir / element.attrs.get("src", "")
            drawn.append(f"image {image.name}" if image.is_file() and image.stat().st_size else f"MISSING image {image}")
    return drawn


def network_resources(page: Element) -> list[str]:
    """Everything the page would fetch over the network: <script src>, <link href>, <img src>, <iframe src>."""
    wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}
    urls = [element.attrs.get(wanted[element.tag], "") for element in page.walk() if element.tag in wanted]
    return [url for url in urls if url.startswith(("http:", "https:", "//"))]


# --- fast: the template and the config ---

def test_dvc_config_points_plots_show_at_the_offline_template_with_the_pinned_builds() -> None:
    html_template = ConfigObj(str(ROOT / ".dvc/config")).get("plots", {}).get("html_template")
    assert html_template, ".dvc/config has no [plots] html_template; `dvc plots show` would load vega from a CDN"
    assert (ROOT / ".dvc" / html_template).resolve() == TEMPLATE  # DVC resolves it against .dvc/
    template = TEMPLATE.read_text(encoding="utf-8")
    assert template.count("{plot_divs}") == 1, "dvc_render fills the plots into '{plot_divs}'"
    assert "{scripts}" not in template, "dvc_render would put its CDN <script> tags at '{scripts}'"
    assert network_resources(parse_html(template)) == []
    for name, (version, _) in PACKAGES.items():
        assert f"<script>/* {name}@{version} */" in template, f"rerun tools/build_plots_template.py: {name}@{version} is not inlined"


# --- end to end: the real `dvc plots show`, then Chromium ---

@pytest.fixture(scope="module")
def plots_page(reproduced_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """index.html written by the real `dvc plots show` for the reproduced pipeline (the repo is only read)."""
    out = tmp_path_factory.mktemp("dvc_plots")
    result = dvc(reproduced_repo, "plots", "show", "-o", str(out))
    assert result.returncode == 0, result.output
    # Only the task's plots are declared, so none is missing: no "DVC failed to load some plots".
    assert "failed to load" not in result.output and "WARNING" not in result.output, result.output
    return out / "index.html"


# They read the full-size reproduced repository, built anyway for tests/test_pipeline.py: on
# the worker that builds it (conftest's FULL_SIZE_TESTS), they balance the other worker's load.
@pytest.mark.slow
def test_plots_page_loads_nothing_from_the_network(plots_page: Path) -> None:
    external = network_resources(parse_html(plots_page.read_text(encoding="utf-8")))
    assert external == [], f"{plots_page} loads {external}: is plots.html_template set in .dvc/config?"


def render_in_chromium(page: Path, screenshot: Path, profile: Path, plot_count: int) -> str:
    """Open the page headless, offline (no host name resolves); return the DOM after scripts ran."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: this test renders the plots in headless Chromium. `bash .ci/run` (the README's second command) installs it "
            "(apt-get install -y --no-install-recommends chromium chromium-driver); do the same here."
        )
    profile.mkdir()
    rows = math.ceil(plot_count / 2)  # about two plots side by side at this width
    completed = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
            "--virtual-time-budget=15000", f"--window-size=1280,{rows * 520 + 200}",
            f"--screenshot={screenshot}", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=180,
    )
    assert completed.returncode == 0 and completed.stdout, f"chromium failed:\n{completed.stderr[-3000:]}"
    return completed.stdout


@pytest.mark.slow
def test_every_plot_dvc_yaml_declares_draws_in_headless_chromium(
    plots_page: Path, reproduced_repo: Path, tmp_path: Path
) -> None:
    declared = declared_plots(reproduced_repo)
    screenshot = tmp_path / "plots.png"
    dom = parse_html(render_in_chromium(plots_page, screenshot, tmp_path / "chromium-profile", len(declared)))
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT)
    print(f"screenshot of the rendered plots: {SCREENSHOT}")

    # One <div> per declared plot; DVC names a top-level one 'dvc.yaml::<id>', so its id starts 'dvc_yaml__'.
    divs = defaultdict(list)
    for div in plot_divs(dom):
        divs[div.attrs["id"].removeprefix("dvc_yaml__")].append(div)
    expected = Counter(html_id(name) for name, _ in declared)
    assert Counter({plot_id: len(found) for plot_id, found in divs.items()}) == expected, (
        f"dvc plots show wrote the plots {sorted(divs)}; dvc.yaml declares {sorted(expected)}"
    )

    missing = [source for _, sources in declared for source in sources if not (reproduced_repo / source).is_file()]
    assert missing == [], f"declared plots whose data the pipeline did not write (drawn empty): {missing}"
    drawn, problems = {}, {}
    for name, sources in dict(declared).items():
        for div in divs[html_id(name)]:
            what = drawn[div.attrs["id"]] = drawings(div, plots_page.parent)
            if len(what) != 1 or what[0].startswith(("EMPTY", "MISSING")):
                problems[div.attrs["id"]] = what or "nothing"
    assert drawn, "dvc.yaml declares no plot whose data the pipeline wrote"
    assert problems == {}, f"plots that did not draw: {problems}; drawn: {drawn}; screenshot: {SCREENSHOT}"
    print(f"{len(drawn)} plots drawn: {drawn}")
