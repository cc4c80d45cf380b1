package emulator

// sqlServer serves the MySQL protocol.
type sqlServer struct{ a string }

func startSQL(s *Server, addr string) (*sqlServer, error) { return &sqlServer{}, nil }
func (q *sqlServer) addr() string                         { return q.a }
func (q *sqlServer) close()                               {}
