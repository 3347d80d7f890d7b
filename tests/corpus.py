"""Test pages as the bytes real sites send: Japanese and European encodings, labelled
in the header, in ``<meta charset>``, in ``http-equiv``, nowhere, or wrongly; the
text and link cases a browser reads in its own way.

The site (tests/site.py) serves each at ``/corpus/<name>`` with its header; the
Chromium agreement test reads the same URLs.
"""

from __future__ import annotations

from dataclasses import dataclass

JAPANESE = [
    "東京の天気は晴れです。明日は雨が降るかもしれません。",
    "日本語のウェブページは、今でもシフトJISやEUC-JPで書かれていることがあります。"
    "古いサイトを読むときは、文字コードを正しく判定しなければなりません。",
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
    "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。"
    "吾輩はここで始めて人間というものを見た。",
    "株式会社高橋製作所は、大阪府の中小企業です。社員は約百二十名で、"
    "主に精密機械の部品を製造しています。お問い合わせは電話でお願いします。",
    "春はあけぼの。やうやう白くなりゆく山ぎは、すこしあかりて、"
    "紫だちたる雲のほそくたなびきたる。夏は夜。月のころはさらなり。",
    "図書館の利用案内：開館時間は午前九時から午後七時までです。"
    "毎週月曜日と年末年始は休館となります。本の貸出は一人十冊まで、期間は二週間です。",
]
"""Paragraphs for the detector and word-count corpus (short and long)."""

JAPANESE_ENCODINGS = {"shift_jis": "cp932", "euc-jp": "euc_jp", "iso-2022-jp": "iso2022_jp"}
"""The web's label → the Python codec that writes what Japanese sites send."""


@dataclass(frozen=True)
class Page:
    name: str
    html: str
    codec: str  # how the bytes are written
    content_type: str | None  # the header as sent; None: no header at all
    encoding: str  # what a browser decodes with (WHATWG name)
    encoding_source: str
    bom: bytes = b""

    def body(self) -> bytes:
        return self.bom + self.html.encode(self.codec)


def _document(title: str, body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


def _japanese_pages() -> list[Page]:
    pages: list[Page] = []
    for label, codec in JAPANESE_ENCODINGS.items():
        for n, text in enumerate(JAPANESE):
            title = f"記事{n}：{text[:6]}"
            body = f"<p>{text}</p>"
            key = f"{label}-{n}"
            pages += [
                Page(
                    f"ja-header-{key}",
                    _document(title, body),
                    codec,
                    f"text/html; charset={label}",
                    label,
                    "header",
                ),
                Page(
                    f"ja-meta-{key}",
                    _document(title, body, f'<meta charset="{label}">'),
                    codec,
                    "text/html",
                    label,
                    "meta",
                ),
                Page(
                    f"ja-nowhere-{key}",
                    _document(title, body),
                    codec,
                    "text/html",
                    label,
                    "detected",
                ),
            ]
    for n, text in enumerate(JAPANESE):
        title = f"記事{n}：{text[:6]}"
        pages.append(
            Page(
                f"ja-nowhere-utf-8-{n}",
                _document(title, f"<p>{text}</p>"),
                "utf-8",
                "text/html",
                "utf-8",
                "detected",
            )
        )
    return pages


EUROPEAN = [
    Page(
        "latin1-http-equiv",
        _document(
            "Stéphane à Paris",
            "<p>Café crème, façade, naïve.</p>",
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">',
        ),
        "cp1252",
        "text/html",
        "windows-1252",
        "meta",
    ),
    Page(
        "latin1-header-c1",
        _document("Quotes “here” – done", "<p>It’s 5 € only.</p>"),
        "cp1252",
        "text/html; charset=ISO-8859-1",
        "windows-1252",
        "header",
    ),
    Page(
        "us-ascii-header",
        _document("Price list", "<p>Now 10 € off.</p>"),
        "cp1252",
        "text/html; charset=us-ascii",
        "windows-1252",
        "header",
    ),
    Page(
        "sjis-x-label",
        _document("①㈱髙島屋のお知らせ", "<p>①番の窓口へどうぞ。</p>"),
        "cp932",
        "text/html; charset=x-sjis",
        "shift_jis",
        "header",
    ),
    Page(
        "windows-31j-label",
        _document("㈱髙島屋", "<p>ようこそ。</p>"),
        "cp932",
        "text/html; charset=Windows-31J",
        "shift_jis",
        "header",
    ),
    Page(
        "x-euc-jp-label",
        _document("東京都の天気", "<p>晴れのち曇り。</p>"),
        "euc_jp",
        "text/html; charset=x-euc-jp",
        "euc-jp",
        "header",
    ),
    Page(
        "utf8-bom",
        _document("Byte order mark", "<p>The title stays a title.</p>"),
        "utf-8",
        "text/html; charset=windows-1252",
        "utf-8",
        "bom",
        bom=b"\xef\xbb\xbf",
    ),
    Page(
        "utf16-bom",
        _document("Sixteen bits", "<p>Little endian with a mark.</p>"),
        "utf-16-le",
        "text/html",
        "utf-16le",
        "bom",
        bom=b"\xff\xfe",
    ),
    Page(
        "header-beats-meta",
        _document("Größe", "<p>Straße</p>", '<meta charset="shift_jis">'),
        "utf-8",
        "text/html; charset=utf-8",
        "utf-8",
        "header",
    ),
    Page(
        "bogus-header-meta-wins",
        _document("Année", "<p>Été</p>", '<meta charset="windows-1252">'),
        "cp1252",
        "text/html; charset=rot13",
        "windows-1252",
        "meta",
    ),
    Page(
        "plain-ascii-default",
        _document("Nothing special", "<p>Plain words only.</p>"),
        "ascii",
        "text/html",
        "utf-8",
        "default",
    ),
]
"""Labels browsers read differently from Python's codec names."""

TEXT = [
    Page(
        "text-inline",
        _document(
            "Inline&nbsp;elements",
            "<p>Py<em>thon</em> and <b>Ja</b>va<br>new line</p><div>one</div><div>two</div>"
            "<p hidden>hidden words</p><template>template words</template>"
            "<noscript>noscript words</noscript><script>var a = 1;</script>"
            "<style>p { color: red }</style><ul><li>first</li><li>second</li></ul>"
            "<p>non&nbsp;breaking</p>",
        ).replace("<h1>Inline&nbsp;elements</h1>", '<h1>interfaces<a href="#x">¶</a></h1>'),
        "utf-8",
        "text/html; charset=utf-8",
        "utf-8",
        "header",
    ),
    Page(
        "text-svg-title",
        "<!DOCTYPE html><html><head></head><body>"
        "<svg><title>An icon</title><circle r=1 /></svg>"
        "<h1>Fish&nbsp;&amp;&nbsp;chips</h1><title>Real title</title><p>Menu.</p></body></html>",
        "utf-8",
        "text/html; charset=utf-8",
        "utf-8",
        "header",
    ),
    Page(
        "text-links",
        _document(
            "Links",
            '<a href="\\\\other\\path">backslash</a> <a href="/a\tb\nc">tab</a> '
            '<a href="https://a.example">bare</a> <a href="https://a.example/">slash</a> '
            '<a href="HTTPS://A.EXAMPLE:443/">upper</a> <a href="  /trim  ">trim</a> '
            '<a href="javascript:void(0)">js</a> <a href="http://[::1">bad</a>',
        ),
        "utf-8",
        "text/html; charset=utf-8",
        "utf-8",
        "header",
    ),
    Page(
        "text-japanese-words",
        _document("日本語の単語", "".join(f"<p>{text}</p>" for text in JAPANESE)),
        "utf-8",
        "text/html; charset=utf-8",
        "utf-8",
        "header",
    ),
]

PAGES = {page.name: page for page in [*_japanese_pages(), *EUROPEAN, *TEXT]}
