"""Extension objects, created unbound here and bound to an app in the factory."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from portal.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
