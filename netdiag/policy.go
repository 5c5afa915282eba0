package netdiag

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
)

func restartPolicyCheck() Check {
	return Check{ID: "policy.restart", Title: "Do containers on the app network restart after a failure or reboot?",
		Needs: []string{"appnet.exists"}, Run: checkRestartPolicy}
}

func healthcheckCheck() Check {
	return Check{ID: "policy.healthcheck", Title: "Do containers on the app network have a health check?",
		Needs: []string{"appnet.exists"}, Run: checkHealthcheck}
}

// appInspect inspects the running containers on the app network.
func (s *state) appInspect(ctx context.Context) ([]container.InspectResponse, error) {
	cs, err := s.appContainers(ctx)
	if err != nil {
		return nil, err
	}
	var out []container.InspectResponse
	for _, c := range cs {
		ins, err := s.eng.ContainerInspect(ctx, c.ID)
		if err != nil {
			continue // gone since the list
		}
		out = append(out, ins)
	}
	return out, nil
}

func checkRestartPolicy(ctx context.Context, s *state) Result {
	cs, err := s.appInspect(ctx)
	if err != nil {
		return failed("check the engine", err.Error())
	}
	var none []string
	for _, c := range cs {
		if c.HostConfig == nil || c.HostConfig.RestartPolicy.Name == "" || c.HostConfig.RestartPolicy.Name == "no" {
			none = append(none, strings.TrimPrefix(c.Name, "/"))
		}
	}
	if len(none) == 0 {
		return pass(fmt.Sprintf("%d containers on %s, all with a restart policy", len(cs), s.cfg.Network))
	}
	return warn("add --restart unless-stopped (compose: restart: unless-stopped), or docker update --restart unless-stopped NAME",
		"no restart policy: "+strings.Join(none, ", "))
}

func checkHealthcheck(ctx context.Context, s *state) Result {
	cs, err := s.appInspect(ctx)
	if err != nil {
		return failed("check the engine", err.Error())
	}
	var none []string
	for _, c := range cs {
		hc := (*container.HealthConfig)(nil)
		if c.Config != nil {
			hc = c.Config.Healthcheck
		}
		if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
			none = append(none, strings.TrimPrefix(c.Name, "/"))
		}
	}
	if len(none) == 0 {
		return pass(fmt.Sprintf("%d containers on %s, all with a health check", len(cs), s.cfg.Network))
	}
	return warn("add --health-cmd 'CMD' --health-interval 10s (compose: healthcheck:), or a HEALTHCHECK in the image",
		"no health check: "+strings.Join(none, ", "))
}
