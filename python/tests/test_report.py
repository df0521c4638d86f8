"""The HTML showback report through the Python package."""
import apportion

SPEC = {
    "apportion": 1,
    "pools": [{"id": "node", "cost": "100.00"}],
    "records": [{"tags": {"team": "<b>nlp</b>"}, "measures": {"gpu_seconds": 3}},
                {"tags": {"team": "cv"}, "measures": {"gpu_seconds": 1}}],
    "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"],
               "weight": "gpu_seconds"}],
}


def test_report_html_is_self_contained_and_escaped():
    html = apportion.report_html(SPEC, title="June")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<script") == 1 and " src=" not in html  # only the inline table sorter
    assert "http://" not in html and "https://" not in html
    assert "&lt;b&gt;nlp&lt;/b&gt;" in html and "<b>nlp</b>" not in html
    assert "$75.00" in html and "$25.00" in html
    # The same result, the same bytes, from the function and from Result.to_html.
    assert apportion.run_result(SPEC).to_html("June") == html


def test_report_html_refuses_bad_input():
    try:
        apportion.report_html({"apportion": 2})
    except apportion.SpecError as e:
        assert str(e).startswith("apportion:")
    else:
        raise AssertionError("a bad spec must raise SpecError")
