"""A new pair-list format in one file: '#tsv-pairs' then 'a<TAB>b<TAB>same' lines, sniffed by content."""

from bench.data.datasets import pairs_from_rows, scan
from bench.hookspecs import hookimpl
from bench.protocols import ProtocolSpec


def sniff(path):
    with path.open("rb") as handle:
        return handle.read(10) == b"#tsv-pairs"


def read(path, dataset):
    lines = path.read_text().splitlines()[1:]
    rows = [(a, b, s == "1") for a, b, s in (line.split("\t") for line in lines if line)]
    dataset = dataset or scan(path.parent)
    return dataset, pairs_from_rows(dataset, rows, None, path)


@hookimpl
def register_protocols(register):
    register(ProtocolSpec("tsv-pairs", read, sniff, "tab-separated pairs"))
