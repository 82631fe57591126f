package e2e

import (
	"net"
	"strconv"
)

func fmtSscanPort(addr string, port *int) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	*port, err = strconv.Atoi(p)
	return 1, err
}
