"""What some tests need of the machine, said once; an unmet precondition fails the test (never a skip)."""

NO_XILINX = ("this test pins the behaviour without Vivado/Vitis HLS: run it where they are not installed "
             "(unset XILINX_VIVADO/XILINX_HLS and take them off PATH)")
