package dofake

import (
	"time"
)

func (s *Server) sizeOf(slug string) (Size, bool) {
	for _, sz := range s.sizes {
		if sz.Slug == slug {
			return sz, true
		}
	}
	return Size{}, false
}

func sizeJSON(sz Size) map[string]any {
	return map[string]any{
		"slug": sz.Slug, "memory": sz.Memory, "vcpus": sz.VCPUs, "disk": sz.Disk, "transfer": 4.0,
		"price_monthly": sz.PriceMonthly, "price_hourly": sz.PriceHourly, "regions": sz.Regions,
		"available": sz.Available, "description": "Basic",
	}
}

func (s *Server) regionJSON(slug string) map[string]any {
	var sizes []string
	for _, sz := range s.sizes {
		sizes = append(sizes, sz.Slug)
	}
	return map[string]any{
		"name": "Region " + slug, "slug": slug, "features": []string{"backups", "ipv6", "metadata"},
		"available": true, "sizes": sizes,
	}
}

func imageJSON(slug string, id int, regions []string) map[string]any {
	return map[string]any{
		"id": id, "name": slug, "type": "snapshot", "distribution": "Ubuntu", "slug": slug, "public": true,
		"regions": regions, "created_at": "2024-01-02T03:04:05Z", "min_disk_size": 25, "size_gigabytes": 2.5,
		"description": "image " + slug, "tags": []string{}, "status": "available",
	}
}

func keyJSON(k *Key) map[string]any {
	return map[string]any{"id": k.ID, "fingerprint": k.Fingerprint, "public_key": k.PublicKey, "name": k.Name}
}

// dropletJSON renders a droplet with every attribute the spec requires.
func (s *Server) dropletJSON(d *Droplet) map[string]any {
	sz, _ := s.sizeOf(d.Size)
	v4 := []any{}
	if d.PublicIP != "" {
		v4 = append(v4, map[string]any{"ip_address": d.PublicIP, "netmask": "255.255.240.0", "gateway": "203.0.113.1", "type": "public"})
		v4 = append(v4, map[string]any{"ip_address": "10.108.0.2", "netmask": "255.255.240.0", "gateway": "10.108.0.1", "type": "private"})
	}
	tags := d.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": d.ID, "name": d.Name, "memory": sz.Memory, "vcpus": sz.VCPUs, "disk": sz.Disk, "locked": s.locked[d.ID] > 0,
		"status": d.Status, "created_at": d.CreatedAt.Format(time.RFC3339), "features": []string{},
		"backup_ids": []int{}, "next_backup_window": backupWindow(d.CreatedAt), "snapshot_ids": []int{},
		"image": imageJSON(d.Image, s.images[d.Image], s.regions), "volume_ids": []string{},
		"size": sizeJSON(sz), "size_slug": d.Size,
		"networks": map[string]any{"v4": v4, "v6": []any{}},
		"region":   s.regionJSON(d.Region), "tags": tags,
	}
}

// backupWindow is a window object: the API sends null when backups are
// off, but kin-openapi does not accept null through the spec's allOf.
func backupWindow(t time.Time) map[string]any {
	day := t.Truncate(24 * time.Hour)
	return map[string]any{"start": day.Add(24 * time.Hour).Format(time.RFC3339), "end": day.Add(47 * time.Hour).Format(time.RFC3339)}
}
