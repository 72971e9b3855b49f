"""chameleon (FunctionBench): render an HTML table of rows x 15 columns with a Chameleon page template
(default 100 rows)."""
from chameleon import PageTemplate

import sabre_greeter

BIGTABLE_ZPT = """\
<table xmlns="http://www.w3.org/1999/xhtml"
xmlns:tal="http://xml.zope.org/namespaces/tal">
<tr tal:repeat="row python: options['table']">
<td tal:repeat="c python: row.values()">
<span tal:define="d python: c + 1"
tal:attributes="class python: 'column-' + str(d)"
tal:content="python: d" />
</td>
</tr>
</table>"""

COLUMNS = 15


def render(rows):
    template = PageTemplate(BIGTABLE_ZPT)
    row = {str(i): i for i in range(COLUMNS)}
    return template.render(options={"table": [row for _ in range(rows)]})


def say_hello(name):
    rows = sabre_greeter.int_arg(name, 100)
    html = render(rows)
    return "fn: chameleon | rows: %d cols: %d html: %d bytes | runtime: python" % (rows, COLUMNS, len(html))


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "chameleon")
