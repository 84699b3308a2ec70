//! `slotproof bench --plot FILE.svg`: each block's median end-to-end latency and its phases
//! against the block's gas, one point per block, as an SVG chart.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

/// One block's median figures over its successful runs, in seconds.
#[derive(Clone, Debug)]
pub(crate) struct LatencyPoint {
    pub name: String,
    pub mgas: f64,
    pub end_to_end_s: f64,
    pub execute_s: f64,
    pub shard_proving_s: f64,
    /// `None` when the block's runs did not aggregate.
    pub aggregation_s: Option<f64>,
    pub verification_s: f64,
}

/// A phase drawn as its own line.
struct Series {
    label: &'static str,
    color: RGBColor,
    value: fn(&LatencyPoint) -> Option<f64>,
}

const SERIES: [Series; 5] = [
    Series {
        label: "end to end",
        color: BLACK,
        value: |p| Some(p.end_to_end_s),
    },
    Series {
        label: "shard proving",
        color: BLUE,
        value: |p| Some(p.shard_proving_s),
    },
    Series {
        label: "aggregation",
        color: RED,
        value: |p| p.aggregation_s,
    },
    Series {
        label: "execution",
        color: GREEN,
        value: |p| Some(p.execute_s),
    },
    Series {
        label: "verification",
        color: MAGENTA,
        value: |p| Some(p.verification_s),
    },
];

/// Draw `points` (any order) into the SVG file `path`.
pub(crate) fn draw(path: &Path, points: &[LatencyPoint]) -> anyhow::Result<()> {
    anyhow::ensure!(!points.is_empty(), "no block has a successful run to plot");
    let mut points = points.to_vec();
    points.sort_by(|a, b| a.mgas.total_cmp(&b.mgas));
    let max_x = points.iter().map(|p| p.mgas).fold(1.0, f64::max) * 1.1;
    // Headroom above the tallest point for the legend (top left).
    let max_y = points.iter().map(|p| p.end_to_end_s).fold(0.1, f64::max) * 1.4;

    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).context("background")?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "slotproof bench: latency per block (median of its runs)",
            ("sans-serif", 20),
        )
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max_x, 0f64..max_y)
        .context("axes")?;
    chart
        .configure_mesh()
        .x_desc("block gas used (Mgas)")
        .y_desc("seconds")
        .draw()
        .context("grid")?;
    for series in &SERIES {
        let data: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| (series.value)(p).map(|y| (p.mgas, y)))
            .collect();
        if data.is_empty() {
            continue;
        }
        let color = series.color;
        chart
            .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))
            .context(series.label)?
            .label(series.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(data.iter().map(|&xy| Circle::new(xy, 4, color.filled())))
            .context(series.label)?;
    }
    // Name each block at its end-to-end point.
    chart
        .draw_series(points.iter().map(|p| {
            Text::new(
                p.name.clone(),
                (p.mgas, p.end_to_end_s),
                ("sans-serif", 12).into_font(),
            )
        }))
        .context("block names")?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .context("legend")?;
    root.present().context("writing the SVG")?;
    Ok(())
}
