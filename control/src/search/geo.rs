//! Distances on Earth for "within N km of a point": a bounding box the
//! database can filter with plain integer comparisons, then the exact
//! great-circle distance decided here (SQLite has no trigonometry).

use crate::experts::Position;

const EARTH_RADIUS_M: f64 = 6_371_008.8;
const METRES_PER_DEGREE: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

fn radians(e6: i64) -> f64 {
    (e6 as f64 / 1e6).to_radians()
}

/// Great-circle distance in metres (haversine).
pub fn distance_m(a: Position, b: Position) -> f64 {
    let (la1, la2) = (radians(a.latitude_e6), radians(b.latitude_e6));
    let dla = la2 - la1;
    let dlo = radians(b.longitude_e6) - radians(a.longitude_e6);
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Microdegree ranges that contain every point within `radius_m` of `centre`
/// (a little more, never less). Longitude is unbounded (`None`) near the
/// poles or across the antimeridian, where a box would be wrong.
pub struct BoundingBox {
    pub latitude: (i64, i64),
    pub longitude: Option<(i64, i64)>,
}

pub fn bounding_box(centre: Position, radius_m: f64) -> BoundingBox {
    let lat = centre.latitude_e6 as f64 / 1e6;
    let dlat = radius_m / METRES_PER_DEGREE;
    let (south, north) = (lat - dlat, lat + dlat);
    let e6 = |deg: f64, up: bool| {
        let v = deg * 1e6;
        (if up { v.ceil() } else { v.floor() }) as i64
    };
    let latitude = (e6(south.max(-90.0), false), e6(north.min(90.0), true));
    let longitude = if south <= -89.0 || north >= 89.0 {
        None
    } else {
        let widest = south.abs().max(north.abs()).to_radians().cos();
        let dlon = radius_m / (METRES_PER_DEGREE * widest);
        let lon = centre.longitude_e6 as f64 / 1e6;
        let (west, east) = (lon - dlon, lon + dlon);
        (west >= -180.0 && east <= 180.0).then(|| (e6(west, false), e6(east, true)))
    };
    BoundingBox {
        latitude,
        longitude,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Position {
        Position {
            latitude_e6: (lat * 1e6) as i64,
            longitude_e6: (lon * 1e6) as i64,
        }
    }

    #[test]
    fn known_distances() {
        // Tunis to Sfax is about 233 km as the crow flies.
        let d = distance_m(at(36.8065, 10.1815), at(34.7406, 10.7603));
        assert!((d - 235_000.0).abs() < 5_000.0, "{d}");
        assert_eq!(distance_m(at(1.0, 2.0), at(1.0, 2.0)), 0.0);
        // Antipodes: half the circumference.
        let half = distance_m(at(0.0, 0.0), at(0.0, 180.0));
        assert!((half - EARTH_RADIUS_M * std::f64::consts::PI).abs() < 1.0);
    }

    #[test]
    fn the_box_holds_every_point_of_the_circle() {
        for (lat, lon) in [(36.8, 10.18), (-45.0, 170.0), (60.0, -20.0), (0.0, 0.0)] {
            let centre = at(lat, lon);
            let b = bounding_box(centre, 50_000.0);
            for step in 0..360 {
                let bearing = f64::from(step).to_radians();
                // A point 49.9 km away in this direction (small-distance offset).
                let d = 49_900.0 / EARTH_RADIUS_M;
                let la = lat.to_radians();
                let la2 = (la.sin() * d.cos() + la.cos() * d.sin() * bearing.cos()).asin();
                let lo2 = lon.to_radians()
                    + (bearing.sin() * d.sin() * la.cos()).atan2(d.cos() - la.sin() * la2.sin());
                let p = at(la2.to_degrees(), lo2.to_degrees());
                assert!(distance_m(centre, p) < 50_000.0);
                assert!((b.latitude.0..=b.latitude.1).contains(&p.latitude_e6));
                let (w, e) = b.longitude.unwrap();
                assert!(
                    (w..=e).contains(&p.longitude_e6),
                    "{lat},{lon} bearing {step}"
                );
            }
        }
        assert!(bounding_box(at(89.5, 0.0), 100_000.0).longitude.is_none());
        assert!(bounding_box(at(0.0, 179.9), 100_000.0).longitude.is_none());
    }
}
