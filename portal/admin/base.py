"""What every back-office list shares: staff only, read-only models, safe CSV, and the correction flow."""
import re
import uuid

from flask import request, url_for
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.model.filters import BaseIntFilter, BaseIntListFilter, convert
from markupsafe import Markup

from portal.admin.access import StaffOnly
from portal.admin.corrections import CorrectionFlow
from portal.converters import parse_row_id, parse_uuid
from portal.database import MAX_INTEGER, largest_value
from portal.display import money
from portal.extensions import db
from portal.ledger import numbers
from portal.money import format_amount
from portal.text import neutralise_formula

# The last page a list offers: times the largest page size, still far inside BIGINT (an OFFSET).
MAX_PAGE = MAX_INTEGER
_PAGE = re.compile(r"[0-9]{1,10}")

def money_formatter(attribute="balance", currency=lambda model: model.currency):
    """Return a list formatter that shows an amount as money (a system account's balance: "derived")."""
    def format_(view, context, model, name):
        value = getattr(model, attribute)
        return "derived" if value is None else money(value, currency(model))
    return format_


def money_export(attribute="balance"):
    """Return a CSV formatter that writes an amount as a plain decimal in its currency."""
    def format_(view, context, model, name):
        value = getattr(model, attribute)
        return "" if value is None else format_amount(value, model.currency)
    return format_


def link(url, text, title=None):
    """Return an escaped link for a list cell (with a hover title, if given)."""
    if title is not None:
        return Markup('<a href="{}" title="{}">{}</a>').format(url, title, text)
    return Markup('<a href="{}">{}</a>').format(url, text)


def audit_url(object_type, object_id):
    """Return the audit log narrowed to one object's history."""
    return url_for("auditevent.index_view", object_type=object_type, object_id=str(object_id))


def normalised_number(search):
    """"fi21 4242 0000 …" → "FI2142420000…" when the search looks like an account number."""
    compact = numbers.normalize(search)
    if len(compact) >= 6 and compact[:2].isalpha() and compact[2:].isalnum() and compact[2:4].isdigit():
        return compact
    return None


class PortalFilterConverter(FilterConverter):
    """Flask-Admin's filters, taught that our UTC timestamp type is a timestamp, and that a number filter takes
    only numbers its column can hold (a larger one would reach the database and fail there as a 500)."""

    @convert("UTCDateTime")
    def conv_utc_datetime(self, column, name, **kwargs):
        """Filter a UTC timestamp column as a timestamp."""
        return self.conv_datetime(column, name, **kwargs)

    @convert("int", "integer", "smallinteger", "smallint", "biginteger", "bigint", "mediumint")
    def conv_int(self, column, name, **kwargs):
        """Filter a number column with filters that refuse numbers beyond what the column holds."""
        limit = largest_value(column)
        return [_within(flt, limit)(column, name, **kwargs) if issubclass(flt, (BaseIntFilter, BaseIntListFilter))
                else flt(column, name, **kwargs) for flt in self.int_filters]


def _within(filter_class, limit):
    """`filter_class`, refusing (as an invalid filter value) any number beyond ±limit."""
    class Within(filter_class):
        def clean(self, value):
            cleaned = super().clean(value)
            if any(abs(number) > limit for number in (cleaned if isinstance(cleaned, list) else [cleaned])):
                raise ValueError(f"{value!r} is out of range")
            return cleaned

    Within.__name__ = filter_class.__name__
    return Within


class PortalModelView(StaffOnly, CorrectionFlow, ModelView):
    """Lists, search, filters, details and CSV export; nothing is created, edited or deleted generically.

    Every change goes through a correction endpoint of a subclass: a CorrectionRequest, applied by the domain.
    """

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    can_export = True
    export_types = ["csv"]
    can_set_page_size = True
    page_size = 50
    page_size_options = (20, 50, 100)
    action_disallowed_list = ["delete"]
    # Exports never reuse the list's formatters (Flask-Admin's default), which make links and formatted money:
    # a view names its plain export formatters here, and a cell that is still markup is made plain text.
    column_formatters_export = {}
    list_template = "admin/portal_list.html"
    filter_converter = PortalFilterConverter()

    search_placeholder_text = None  # what the search box suggests typing, in words (not Flask-Admin's field names)

    def search_placeholder(self):
        """Return the search box's hint: the view's own words, or Flask-Admin's list of fields."""
        return self.search_placeholder_text or super().search_placeholder()

    def get_one(self, id):
        """Primary keys come from the URL as text; UUID keys need converting."""
        pk_type = getattr(self.model.__table__.c.id.type, "python_type", None)
        if pk_type is uuid.UUID:
            id = parse_uuid(str(id))
        elif pk_type is int:
            id = parse_row_id(str(id), self.model.__table__.c.id)
        # None: no such row (Flask-Admin says so and goes back to the list), without a query.
        return None if id is None else db.session.get(self.model, id)

    def _get_list_extra_args(self):
        """Flask-Admin's list arguments, with `page` a number the database takes as an OFFSET.

        Flask-Admin reads it with int(): -1 became a negative OFFSET (refused by PostgreSQL), a huge one an
        OFFSET past BIGINT (refused by both databases), each a 500. Anything but plain digits is the first page;
        a page past the end is an empty one, as Flask-Admin shows it.
        """
        args = super()._get_list_extra_args()
        page = request.args.get("page", "")
        args.page = min(int(page), MAX_PAGE) if _PAGE.fullmatch(page) else 0
        return args

    def get_export_value(self, model, name):
        """Return a CSV cell: plain text (never markup), neutralised against formulas."""
        value = super().get_export_value(model, name)
        if isinstance(value, Markup):
            value = value.striptags()
        return neutralise_formula(value)
