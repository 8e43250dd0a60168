"""Property-based API tests: schemathesis generates requests from the OpenAPI schema (valid and
invalid ones, both encodings of /api/predict) and checks every answer: no 500, only documented
status codes and content types, bodies that match the documented response schemas."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from digitlab.web import create_app
from tests.web.conftest import DIGITS, linear_model

MAX_EXAMPLES = 40  # per operation and phase: enough to reach every validation branch in seconds

app = create_app([linear_model("digits"), linear_model("clothes", "fashion-mnist", DIGITS, seed=1)])
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_breaks_the_api(case):
    # A schema cannot say "a decodable image with some ink": random bytes in the file field and an
    # all-zero array are schema-valid yet rightly refused (400 bad_image, 422 empty_drawing), so the
    # "schema-valid data must be accepted" check is the one check that does not apply here.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
