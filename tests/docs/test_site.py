"""The collection's docsite (make docs) as headless Chromium renders it.

Every module page must show each of the module's options (with those of its documentation fragments), its
examples and its return values; the role page its entry point's options; the collection index every plugin, the
role and the guides page. What a page must show is read from ansible-doc --json of the installed collection
(the one the docsite was built from), and the list of modules from plugins/modules/. A screenshot of the
astra_token page is kept as a build artifact.

Run by 'make docs-test' with DOCS_HTML (the built site), DOCS_SCREENSHOT and ANSIBLE_COLLECTIONS_PATH set.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML_DIR = Path(os.environ.get("DOCS_HTML", ROOT / "docs" / "build" / "html"))
SCREENSHOT = Path(os.environ.get("DOCS_SCREENSHOT", ROOT / "build" / "docs-astra_token.png"))
COLLECTION = "astra.devops"
PAGES = HTML_DIR / "collections" / "astra" / "devops"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ROLE = "token_rotation"
WINDOW = (1280, 2000)

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


class Node:
    """An element of the rendered DOM: tag, attributes, children (nodes and text)."""

    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self, skip_class=None):
        """The text of this element, without that of descendants that have the class skip_class."""
        return "".join(
            c if isinstance(c, str) else c.text(skip_class)
            for c in self.children
            if isinstance(c, str) or skip_class is None or skip_class not in c.classes
        )

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def by_id(self, element_id):
        found = [n for n in self.iter() if n.attrs.get("id") == element_id]
        return found[0] if found else None


class TreeBuilder(HTMLParser):
    """Chromium's --dump-dom output (serialised HTML5) into a Node tree."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [])
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID_ELEMENTS:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def chromium():
    path = shutil.which("chromium")
    if not path:
        pytest.fail("chromium is not installed (make docs-test installs Debian's package)")
    return path


def run_chromium(tmp_dir, url, *args):
    profile = tmp_dir / ("profile-%d" % len(list(tmp_dir.glob("profile-*"))))
    cmd = [chromium()] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % profile] + list(args) + [url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, "%s\nexit %d\n%s" % (" ".join(cmd), proc.returncode, proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def dom(tmp_path_factory):
    """Page (relative to the collection's folder) -> its DOM after Chromium loaded it and ran its scripts."""
    tmp_dir = tmp_path_factory.mktemp("chromium")
    cache = {}

    def load(page):
        if page not in cache:
            path = PAGES / page
            assert path.is_file(), "%s was not built" % path
            proc = run_chromium(tmp_dir, path.as_uri(), "--virtual-time-budget=5000", "--dump-dom")
            builder = TreeBuilder()
            builder.feed(proc.stdout)
            builder.close()
            cache[page] = builder.root
        return cache[page]

    return load


@pytest.fixture(scope="module")
def ansible_doc():
    """ansible-doc --json of every module and of the role, from the installed collection (fragments merged)."""
    ansible_doc_bin = Path(sys.executable).parent / "ansible-doc"
    docs = {}
    for plugin_type, names in (("module", MODULES), ("role", [ROLE])):
        cmd = [str(ansible_doc_bin), "--json", "-t", plugin_type] + ["%s.%s" % (COLLECTION, n) for n in names]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, "%s\n%s" % (" ".join(cmd), proc.stderr)
        for fqcn, data in json.loads(proc.stdout).items():
            docs[(plugin_type, fqcn.rsplit(".", 1)[-1])] = data
    missing = [key for key in [("module", m) for m in MODULES] + [("role", ROLE)] if key not in docs]
    assert not missing, "ansible-doc knows nothing of %s (ANSIBLE_COLLECTIONS_PATH=%s)" % (
        missing, os.environ.get("ANSIBLE_COLLECTIONS_PATH"))
    return docs


def option_paths(options, key="suboptions", prefix=""):
    """Every option (or return value) as its anchor path: name, name/sub, name/sub/subsub."""
    paths = []
    for name, spec in sorted((options or {}).items()):
        paths.append(prefix + name)
        paths.extend(option_paths((spec or {}).get(key), key, prefix + name + "/"))
    return paths


def section(page_dom, section_id, heading):
    node = page_dom.by_id(section_id)
    assert node is not None and node.tag == "section", "no section#%s" % section_id
    # the theme's script adds a link icon to each heading (a.headerlink)
    titles = [" ".join(h.text("headerlink").split()) for h in node.find_all("h2")]
    assert titles and titles[0] == heading, "section#%s is headed %r, not %r" % (section_id, titles[:1], heading)
    return node


def table_entries(section_node, anchor_prefix):
    """anchor path -> title shown, for each row of an antsibull-docs option / return value table."""
    entries = {}
    for anchor in section_node.find_all("div", "ansibleOptionAnchor"):
        element_id = anchor.attrs.get("id", "")
        if not element_id.startswith(anchor_prefix):
            continue
        cell = anchor.parent
        titles = [t.text().strip() for t in cell.find_all("p", "ansible-option-title")]
        entries[element_id[len(anchor_prefix):]] = titles[0] if titles else None
    return entries


def assert_table_lists(section_node, anchor_prefix, expected_paths, what):
    shown = table_entries(section_node, anchor_prefix)
    missing = [p for p in expected_paths if p not in shown]
    assert not missing, "%s not shown: %s" % (what, missing)
    wrong = {p: shown[p] for p in expected_paths if shown[p] != p.rsplit("/", 1)[-1]}
    assert not wrong, "%s shown under another title: %s" % (what, wrong)


def test_every_module_has_a_page():
    assert MODULES, "no module found in plugins/modules"
    built = sorted(p.name[:-len("_module.html")] for p in PAGES.glob("*_module.html"))
    assert built == MODULES, "module pages %s, modules %s" % (built, MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_page_renders_options_examples_and_return_values(module, dom, ansible_doc):
    data = ansible_doc[("module", module)]
    page = dom("%s_module.html" % module)

    headings = [" ".join(h.text("headerlink").split()) for h in page.find_all("h1")]
    assert any(h.startswith("%s.%s module" % (COLLECTION, module)) for h in headings), headings

    options = option_paths(data["doc"]["options"])
    assert options, "ansible-doc lists no option for %s" % module
    assert_table_lists(section(page, "parameters", "Parameters"), "parameter-", options, "options")

    examples = section(page, "examples", "Examples")
    shown = "\n".join(pre.text() for pre in examples.find_all("pre"))
    expected = data["examples"]
    assert expected.strip(), "%s has no EXAMPLES" % module
    assert " ".join(shown.split()) == " ".join(expected.split()), "the Examples section is not the module's EXAMPLES"

    returns = option_paths(data["return"], key="contains")
    assert returns, "ansible-doc lists no return value for %s" % module
    assert_table_lists(section(page, "return-values", "Return Values"), "return-", returns, "return values")


def test_role_page_lists_the_entry_point_options(dom, ansible_doc):
    entry_points = ansible_doc[("role", ROLE)]["entry_points"]
    assert "token_rotation_description" in option_paths(entry_points["main"].get("options"))
    page = dom("%s_role.html" % ROLE)
    for entry_point, spec in entry_points.items():
        options = option_paths(spec.get("options"))
        assert_table_lists(page, "parameter-%s--" % entry_point, options, "options of entry point %s" % entry_point)


def test_collection_index_links_every_page(dom):
    page = dom("index.html")
    links = {a.attrs.get("href", "").split("#")[0] for a in page.find_all("a")}
    expected = ["%s_module.html" % m for m in MODULES] + ["token_audit_filter.html", "%s_role.html" % ROLE,
                                                          "docsite/guides.html"]
    missing = [e for e in expected if e not in links]
    assert not missing, "the collection index does not link to %s" % missing


def test_guides_page_links_the_guides(dom):
    page = dom("docsite/guides.html")
    links = {a.attrs.get("href", "") for a in page.find_all("a")}
    for guide in ("docs/rotation.md", "docs/awx.md", "docs/eda.md", "docs/api-notes.md"):
        assert (ROOT / guide).is_file()
        assert any(link.endswith("/" + guide) for link in links), "the guides page does not link to %s" % guide


def png_size(path):
    """(width, height) from a PNG's IHDR chunk."""
    with open(path, "rb") as png:
        head = png.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", "%s is not a PNG" % path
    return struct.unpack(">II", head[16:24])


def test_screenshot_of_the_astra_token_page(tmp_path):
    page = PAGES / "astra_token_module.html"
    assert page.is_file()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    if SCREENSHOT.exists():
        SCREENSHOT.unlink()
    run_chromium(tmp_path, page.as_uri(), "--hide-scrollbars", "--window-size=%d,%d" % WINDOW,
                 "--screenshot=%s" % SCREENSHOT)
    assert SCREENSHOT.is_file(), "no screenshot written"
    size = SCREENSHOT.stat().st_size
    # at 1280x2000 a blank page makes a PNG of about 12 kB, the astra_token page about 300 kB
    assert size > 50 * 1024, "screenshot of %d bytes: blank page?" % size
    assert png_size(SCREENSHOT) == WINDOW
