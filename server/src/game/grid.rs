//! A uniform spatial grid, rebuilt every step, for finding overlapping circles.
//!
//! Bodies are bucketed by a counting sort into cells at least as wide as one body, so
//! overlapping pairs are only ever in the same or adjacent cells and a step costs
//! O(players + cells) instead of O(players²). The cell size follows the player count (about
//! one body per cell when spread out), so a small room does not pay for clearing thousands
//! of empty cells. The buffers are kept between steps: no allocation per tick once the
//! room has reached its size.

use glam::Vec2;

/// Cell buckets over a rectangle `[0, size]`.
#[derive(Debug)]
pub struct Grid {
    size: Vec2,
    /// The smallest cell side: pairs closer than this are always found.
    min_cell: f32,
    cell: f32,
    cols: usize,
    rows: usize,
    /// `starts[c]..starts[c + 1]` is cell `c`'s range in `order`.
    starts: Vec<u32>,
    /// Body indices sorted by cell.
    order: Vec<u32>,
    /// Each body's cell, from the last rebuild.
    cell_of: Vec<u32>,
    /// Scratch for the counting sort, kept to avoid an allocation per rebuild.
    fill: Vec<u32>,
}

impl Grid {
    /// A grid over `size` that finds every pair closer than `min_cell` (> 0).
    pub fn new(size: Vec2, min_cell: f32) -> Self {
        let mut grid = Self {
            size,
            min_cell,
            cell: min_cell,
            cols: 1,
            rows: 1,
            starts: Vec::new(),
            order: Vec::new(),
            cell_of: Vec::new(),
            fill: Vec::new(),
        };
        grid.shape_for(1);
        grid
    }

    /// Picks the cell side for `bodies` bodies, never under `min_cell`.
    fn shape_for(&mut self, bodies: usize) {
        // Half the mean spacing: a few cells per body, so a crowd near a wall still spreads
        // over several cells.
        let spread = (self.size.x * self.size.y / bodies.max(1) as f32).sqrt() * 0.5;
        self.cell = spread.max(self.min_cell);
        self.cols = ((self.size.x / self.cell).ceil() as usize).max(1);
        self.rows = ((self.size.y / self.cell).ceil() as usize).max(1);
        self.starts.resize(self.cols * self.rows + 1, 0);
    }

    /// Moves the rectangle's far corner to `size` (the grid is reshaped at the next rebuild).
    pub fn set_size(&mut self, size: Vec2) {
        self.size = size.max(Vec2::splat(self.min_cell));
    }

    fn coords(&self, p: Vec2) -> (usize, usize) {
        // `as` saturates NaN and negatives to 0, so even a corrupt position lands in a cell.
        let cx = ((p.x / self.cell) as usize).min(self.cols - 1);
        let cy = ((p.y / self.cell) as usize).min(self.rows - 1);
        (cx, cy)
    }

    /// Buckets `positions` (indices into it are what pairs refer to).
    pub fn rebuild(&mut self, positions: &[Vec2]) {
        self.shape_for(positions.len());
        self.starts.fill(0);
        self.cell_of.clear();
        for &p in positions {
            let (cx, cy) = self.coords(p);
            let c = cy * self.cols + cx;
            self.cell_of.push(c as u32);
            self.starts[c + 1] += 1;
        }
        for c in 1..self.starts.len() {
            self.starts[c] += self.starts[c - 1];
        }
        self.order.clear();
        self.order.resize(positions.len(), 0);
        // Fill each cell from its start; `fill` tracks the next free slot per cell.
        self.fill.clear();
        self.fill.extend_from_slice(&self.starts);
        for (i, &c) in self.cell_of.iter().enumerate() {
            let slot = &mut self.fill[c as usize];
            self.order[*slot as usize] = i as u32;
            *slot += 1;
        }
    }

    /// Calls `f(i, j)` once for every unordered pair of bodies in the same or adjacent
    /// cells (in no particular order of `i` and `j`).
    ///
    /// Each body looks only "forward": later bodies of its own cell, and the cells to its
    /// right and in the row below. Every adjacent pair of cells is then visited from one
    /// side only, half the work of scanning all eight neighbours.
    pub fn for_each_near_pair(&self, mut f: impl FnMut(usize, usize)) {
        let (cols, rows) = (self.cols, self.rows);
        for (slot, &i) in self.order.iter().enumerate() {
            let i = i as usize;
            let c = self.cell_of[i] as usize;
            let (cx, cy) = (c % cols, c / cols);
            for &j in &self.order[slot + 1..self.starts[c + 1] as usize] {
                f(i, j as usize);
            }
            let right = (cx + 1 < cols).then(|| c + 1);
            let below = cy + 1 < rows;
            let below_left = (below && cx > 0).then(|| c + cols - 1);
            let below_mid = below.then(|| c + cols);
            let below_right = (below && cx + 1 < cols).then(|| c + cols + 1);
            for n in [right, below_left, below_mid, below_right]
                .into_iter()
                .flatten()
            {
                for &j in &self.order[self.starts[n] as usize..self.starts[n + 1] as usize] {
                    f(i, j as usize);
                }
            }
        }
    }
}

impl Grid {
    /// Calls `f(i)` for every body in the cells that overlap the rectangle `lo..=hi`: all
    /// bodies inside it, and some near it (the caller checks the exact shape it wants).
    pub fn for_each_in_rect(&self, lo: Vec2, hi: Vec2, mut f: impl FnMut(usize)) {
        let (x0, y0) = self.coords(lo);
        let (x1, y1) = self.coords(hi);
        for cy in y0..=y1 {
            let row = cy * self.cols;
            let first = self.starts[row + x0] as usize;
            let last = self.starts[row + x1 + 1] as usize;
            // A row's cells are adjacent in `order`, so the row's span is one slice.
            for &i in &self.order[first..last] {
                f(i as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(grid: &Grid) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        grid.for_each_near_pair(|i, j| out.push((i.min(j), i.max(j))));
        out.sort();
        out
    }

    #[test]
    fn finds_neighbours_across_cell_edges_only_once() {
        let mut grid = Grid::new(Vec2::splat(100.0), 10.0);
        let pos = [
            Vec2::new(9.9, 9.9),
            Vec2::new(10.1, 10.1),
            Vec2::new(55.0, 55.0),
            Vec2::new(5.0, 5.0),
        ];
        grid.rebuild(&pos);
        let found = pairs(&grid);
        for close in [(0, 1), (0, 3), (1, 3)] {
            assert_eq!(
                found.iter().filter(|&&p| p == close).count(),
                1,
                "{close:?}"
            );
        }
    }

    #[test]
    fn every_close_pair_is_found_exactly_once() {
        // A dense, irregular cloud: compare with the all-pairs answer.
        let mut grid = Grid::new(Vec2::splat(100.0), 10.0);
        let pos: Vec<Vec2> = (0..300)
            .map(|k| {
                let k = k as f32;
                Vec2::new((k * 7.31) % 100.0, (k * 3.77 + k * k * 0.013) % 100.0)
            })
            .collect();
        grid.rebuild(&pos);
        let found = pairs(&grid);
        let mut unique = found.clone();
        unique.dedup();
        assert_eq!(found, unique, "no pair twice");
        for i in 0..pos.len() {
            for j in i + 1..pos.len() {
                if pos[i].distance(pos[j]) < 10.0 {
                    assert!(found.binary_search(&(i, j)).is_ok(), "missed {i},{j}");
                }
            }
        }
    }

    #[test]
    fn rect_query_finds_everything_inside() {
        let mut grid = Grid::new(Vec2::splat(100.0), 10.0);
        let pos: Vec<Vec2> = (0..500)
            .map(|k| {
                let k = k as f32;
                Vec2::new((k * 7.31) % 100.0, (k * 3.77 + k * k * 0.013) % 100.0)
            })
            .collect();
        grid.rebuild(&pos);
        let (lo, hi) = (Vec2::new(20.0, 35.0), Vec2::new(47.5, 61.0));
        let mut found = Vec::new();
        grid.for_each_in_rect(lo, hi, |i| found.push(i));
        let mut unique = found.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), found.len(), "each body once");
        for (i, p) in pos.iter().enumerate() {
            if p.cmpge(lo).all() && p.cmple(hi).all() {
                assert!(found.contains(&i), "missed {i} at {p}");
            }
        }
        assert!(found.len() < pos.len() / 2, "only nearby cells are visited");
    }

    #[test]
    fn out_of_range_positions_are_clamped_into_the_grid() {
        let mut grid = Grid::new(Vec2::splat(100.0), 10.0);
        grid.rebuild(&[
            Vec2::new(-5.0, 1e9),
            Vec2::new(f32::NAN, 0.0),
            Vec2::new(0.0, 99.0),
        ]);
        // Both clamp to the bottom-left cell's column; the NaN lands in a cell too.
        assert!(pairs(&grid).contains(&(0, 2)));
    }
}
