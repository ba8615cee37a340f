"""The statement laid out for print (fpdf2): a header on every page, the balances, the transactions, page numbers.

The text is set in DejaVu Sans Condensed, shipped beside this module (fonts/, under the Bitstream Vera licence
with DejaVu's public-domain changes; see fonts/LICENSE): the PDF core fonts know Latin-1 only, and a
description or a customer note may hold "€", "ł", Greek or Cyrillic. A character the font lacks (an emoji) is
printed as a question mark rather than failing the whole statement.
"""
import pathlib

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from portal.display import KIND_LABELS, account_number, money
from portal.statements import told

FONTS = pathlib.Path(__file__).resolve().parent / "fonts"
BANK_NAME = "Ledger Bank"
FONT = "DejaVu"
# Column widths in mm (A4 portrait, 15 mm margins: 180 mm), and which are numbers (right-aligned). Amounts read
# as on the pages ("−€58,293.88"); one too wide for its column (billions) is set smaller rather than overflow.
COLUMNS = (("Date", 20, "L"), ("Description", 80, "L"), ("Kind", 20, "L"), ("Amount", 30, "R"),
           ("Balance after", 30, "R"))
LINE = 4.2  # mm per line of table text
TABLE_FONT_SIZE = 8.5


class StatementPdf(FPDF):
    """An A4 document whose every page starts with the statement's header and ends with its page number."""

    def __init__(self, statement):
        """Prepare the document for `statement`: fonts, margins, the running header and footer."""
        super().__init__(orientation="P", unit="mm", format="A4")
        self.statement = statement
        self.table_started = False
        self.add_font(FONT, "", str(FONTS / "DejaVuSansCondensed.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSansCondensed-Bold.ttf"))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(False)  # rows are placed by hand, a page break never splits one
        account = statement.account
        self.set_title(f"Statement {statement.period} – {account_number(account.number)}")
        self.set_author(BANK_NAME)
        self.set_creation_date(statement.generated_at)
        self.glyphs = self.fonts[FONT.lower()].cmap if FONT.lower() in self.fonts else None

    def printable(self, text):
        """Return `text` with every character the font cannot draw replaced by "?" (never a failed statement)."""
        if self.glyphs is None:
            return text
        return "".join(ch if ord(ch) in self.glyphs or ch.isspace() else "?" for ch in text)

    def money(self, minor):
        """Return an amount of the statement's currency as the pages print it: "€58,293.88", "−€25.00"."""
        return money(minor, self.statement.account.currency)

    def header(self):
        """Draw the bank, the holder, the account and the period; on later pages, the table's column names."""
        statement, account = self.statement, self.statement.account
        self.set_font(FONT, "B", 14)
        self.cell(90, 7, BANK_NAME)
        self.set_font(FONT, "B", 11)
        period = f"Statement {statement.period}" + (" (so far)" if statement.partial else "")
        self.cell(90, 7, period, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 9)
        self.cell(90, 5, self.printable(f"{statement.holder or ''} · {account.name}"))
        self.cell(90, 5, f"{statement.date_from.isoformat()} to {statement.date_to.isoformat()}", align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(90, 5, f"{account_number(account.number)} · {account.currency}", new_x=XPos.LMARGIN,
                  new_y=YPos.NEXT)
        self.set_draw_color(120, 120, 120)
        self.line(15, self.get_y() + 1.5, 195, self.get_y() + 1.5)
        self.ln(4)
        if self.table_started:
            self.column_names()

    def footer(self):
        """Draw "generated at" and "Page n of m" at the bottom of every page."""
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        generated = self.statement.generated_at.strftime("%Y-%m-%d %H:%M UTC")
        self.cell(90, 5, f"Generated at {generated}")
        self.cell(90, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def column_names(self):
        """Draw the table's column names."""
        self.set_font(FONT, "B", TABLE_FONT_SIZE)
        self.set_fill_color(235, 235, 235)
        for title, width, align in COLUMNS:
            self.cell(width, 6, title, align=align, fill=True)
        self.ln(6)
        self.set_font(FONT, "", TABLE_FONT_SIZE)

    def summary(self):
        """Draw the opening balance, totals in and out, and the closing balance."""
        statement = self.statement
        rows = (("Opening balance", statement.opening), ("Total in", statement.total_in),
                ("Total out", statement.total_out), ("Closing balance", statement.closing))
        for label, value in rows:
            self.set_font(FONT, "B" if label.startswith(("Opening", "Closing")) else "", 10)
            self.cell(60, 6, label)
            self.cell(50, 6, self.money(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def transactions(self):
        """Draw one row per transaction, oldest first, the description wrapped; a row never splits over pages."""
        statement = self.statement
        self.set_font(FONT, "B", 11)
        self.cell(0, 7, "Transactions", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.table_started = True
        self.column_names()
        items = told(statement)
        if not items:
            self.cell(0, 6, "No transactions in this period.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for item, text, _ in items:
            line = item.line
            cells = (line.value_date.isoformat(), self.printable(text), KIND_LABELS.get(line.kind, line.kind),
                     self.money(line.amount), self.money(item.balance_after))
            wrapped = self.wrap(cells[1], COLUMNS[1][1] - 2 * self.c_margin)
            height = LINE * len(wrapped) + 1
            if self.get_y() + height > self.h - 18:
                self.add_page()  # the header draws the column names again
            top = self.get_y()
            x = self.l_margin
            for index, ((_, width, align), value) in enumerate(zip(COLUMNS, cells, strict=True)):
                for row, text in enumerate(wrapped if index == 1 else [value]):
                    # Plain cells: fpdf2's multi_cell breaks lines too, at ten times the cost.
                    self.set_xy(x, top + 0.5 + row * LINE)
                    self.fitted_cell(width, text, align)
                x += width
            self.set_y(top + height)
            self.set_draw_color(225, 225, 225)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())

    def fitted_cell(self, width, text, align):
        """Draw one line of table text, set smaller if it is wider than its column (only an amount can be)."""
        room = width - 2 * self.c_margin
        natural = self.get_string_width(text)
        if natural > room:
            self.set_font_size(TABLE_FONT_SIZE * room / natural)
        self.cell(width, LINE, text, align=align)
        if natural > room:
            self.set_font_size(TABLE_FONT_SIZE)

    def wrap(self, text, width):
        """Break `text` into lines no wider than `width` mm, at spaces (inside a word only when it must)."""
        lines, current = [], ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if self.get_string_width(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = word
            while self.get_string_width(current) > width and len(current) > 1:  # a word wider than the column
                low, high = 1, len(current) - 1  # the longest head that fits, by bisection
                while low < high:
                    middle = (low + high + 1) // 2
                    low, high = (middle, high) if self.get_string_width(current[:middle]) <= width else (
                        low, middle - 1)
                cut = low
                lines.append(current[:cut])
                current = current[cut:]
        lines.append(current)
        return lines

    def closing(self):
        """Draw the closing balance again under the table, where a reader's eye ends."""
        if self.get_y() + 20 > self.h - 18:
            self.add_page()
        self.ln(3)
        self.set_font(FONT, "B", 10)
        self.cell(60, 6, "Closing balance")
        self.cell(50, 6, self.money(self.statement.closing), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render(statement):
    """Return the statement as PDF bytes."""
    pdf = StatementPdf(statement)
    pdf.add_page()
    pdf.summary()
    pdf.transactions()
    pdf.closing()
    return bytes(pdf.output())
