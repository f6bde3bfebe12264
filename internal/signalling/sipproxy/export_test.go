package sipproxy

// LimitedUsers is how many users the per-user limits hold state for.
func (p *Proxy) LimitedUsers() int { return p.limits.users() }
