"""A correction request: what a member of staff asked for, as plain data that can be stored, shown and applied."""
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Optional, Union

from portal.ledger import ValidationError

# The JSON types each field may hold: what a stored request (issue "Four eyes") can be read back into.
_TYPES = {"kind": (str,), "target_type": (str,), "target_id": (int, str, type(None)), "parameters": (dict,),
          "reason": (str,), "customer_note": (str, type(None)), "maker_id": (int, type(None))}


@dataclass(frozen=True)
class CorrectionRequest:
    """One asked-for correction: its kind (the audit action), target, parameters, reason, customer note, maker.

    Everything is plain JSON data (amounts in minor units, dates in ISO 8601, ids as numbers or text), never an
    ORM object or a form: it can be stored, shown to someone else, and validated again when it is applied.
    """

    kind: str
    target_type: str
    target_id: Optional[Union[int, str]]
    parameters: dict = field(default_factory=dict)
    reason: str = ""
    customer_note: Optional[str] = None  # what the customer sees; None: a neutral "Correction by the bank"
    maker_id: Optional[int] = None  # the user who asked

    def to_json(self):
        """Return the request as a JSON object (text)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data):
        """Read a request back from plain data; ValidationError for anything but exactly its fields."""
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            raise ValidationError("is not a correction request", field="request")
        for name, types in _TYPES.items():
            # bool is an int to Python, never an id to us.
            if not isinstance(data[name], types) or isinstance(data[name], bool):
                raise ValidationError(f"has the wrong type for {name}", field="request")
        return cls(**data)

    @classmethod
    def from_json(cls, text):
        """Read a request back from to_json's text."""
        try:
            data = json.loads(text)
        except ValueError:
            raise ValidationError("is not JSON", field="request") from None
        return cls.from_dict(data)
