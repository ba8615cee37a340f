"""Extension objects, created unbound here and bound to an app in the factory."""
import weakref

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from portal.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
# Limits are declared where they apply (the API blueprint, the login view); none by default.
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
csrf = CSRFProtect()
# Flask-WTF keeps exempted blueprints in a plain set, so every app's API blueprint (and through it the app)
# would live as long as the process; the test suite creates hundreds of apps. A WeakSet forgets them with their app.
csrf._exempt_blueprints = weakref.WeakSet()
