"""Project bundles: one zip file that carries a project to another machine, and back, file for file.

::

    bundle.json                  format and version, the tool versions, sha256 and size of every file,
                                 what was left out and why (written last, read first)
    manifest.json                the project's manifest
    iterations/<it>/...          weights, QONNX, quant config, calibration statistics, metrics, change records,
                                 builds/<b>/ (reports, folding, logs), runs/<board>/<id>/ (run records)

Why zip and not tar: a zip's central directory lists every entry's name, type, size and compressed size
before a byte is extracted, so an import checks the whole archive (traversal, links, sizes, the 100:1 ratio,
the file list against ``bundle.json``) first; each entry is compressed on its own, so the ratio is known per
entry; a truncated zip has no central directory and fails at once; and every desktop opens one. Hard links
do not exist in zip (tar archives, which can hold them, are refused as not a bundle).

Export streams each file into the archive (never loading the project into memory) while the project lock is
held; import extracts into a temporary folder next to the destination, checks every hash and renames it into
place at the end.
"""

from foldwise.core.bundle.export import BundleOptions, ExportResult, export_bundle
from foldwise.core.bundle.format import FORMAT_VERSION, BundleError
from foldwise.core.bundle.unpack import ImportResult, import_bundle

__all__ = ["FORMAT_VERSION", "BundleError", "BundleOptions", "ExportResult", "ImportResult", "export_bundle",
           "import_bundle"]
