import urllib.request
from pathlib import Path

import onnx

from foldwise.core.netron_view import NetronServer, onnx_for_viewing
from foldwise.core.project import Project


def test_export_and_serve_on_localhost(trained_lenet: Path) -> None:
    with Project.open(trained_lenet) as project:
        path = onnx_for_viewing(project, project.current)
        assert path.parent == project.cache_dir / "netron"
        ops = {node.op_type for node in onnx.load(str(path)).graph.node}
        assert {"Conv", "Gemm"} <= ops or {"Conv", "MatMul"} <= ops
        assert onnx_for_viewing(project, project.current) == path  # cached
    server = NetronServer(path)
    try:
        url = server.start()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert b"etron" in response.read()
    finally:
        server.stop()
    assert not server.running
