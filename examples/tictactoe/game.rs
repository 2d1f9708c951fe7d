//! The rules of one game of tic-tac-toe, without players' names, places or
//! I/O: a board, whose turn it is, and how a game ends.

use std::fmt;

/// A player's mark; X always moves first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The challenger's mark.
    X,
    /// The challenged player's mark.
    O,
}

impl Mark {
    /// The other player's mark.
    pub fn other(self) -> Mark {
        match self {
            Mark::X => Mark::O,
            Mark::O => Mark::X,
        }
    }

    /// 0 for X, 1 for O: an index into a pair of players.
    pub fn index(self) -> usize {
        match self {
            Mark::X => 0,
            Mark::O => 1,
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mark::X => "X",
            Mark::O => "O",
        })
    }
}

/// One of the nine cells, numbered 1 to 9 row by row from the top left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell(u8);

impl Cell {
    /// The cell numbered `n`, if `n` is 1 to 9.
    pub fn from_number(n: u32) -> Option<Cell> {
        (1..=9).contains(&n).then(|| Cell((n - 1) as u8))
    }

    /// Its number, 1 to 9.
    pub fn number(self) -> u8 {
        self.0 + 1
    }
}

/// Where a game stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The game goes on; this mark moves next.
    Next(Mark),
    /// This mark has three in a row.
    Won(Mark),
    /// The board is full and nobody won.
    Draw,
    /// This mark gave up (resigned, left, or let the game time out).
    Resigned(Mark),
}

impl Status {
    /// Whether the game is over.
    pub fn is_over(self) -> bool {
        !matches!(self, Status::Next(_))
    }
}

/// Why a move was refused; the game is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveError {
    /// It is the other mark's turn.
    NotYourTurn {
        /// Whose turn it is.
        next: Mark,
    },
    /// The cell holds a mark already.
    Taken(Cell),
    /// The game has ended.
    Over,
}

/// The rows, columns and diagonals that win, as cell indexes.
const LINES: [[usize; 3]; 8] = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
    [0, 4, 8],
    [2, 4, 6],
];

/// One game: nine cells and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Game {
    cells: [Option<Mark>; 9],
    status: Status,
}

impl Default for Game {
    fn default() -> Self {
        Game::new()
    }
}

impl Game {
    /// An empty board, X to move.
    pub fn new() -> Game {
        Game {
            cells: [None; 9],
            status: Status::Next(Mark::X),
        }
    }

    /// Where the game stands.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The nine cells row-major as `X`, `O` or `.`, as the `TTT` line
    /// carries them.
    pub fn cells(&self) -> String {
        self.cells
            .iter()
            .map(|c| match c {
                Some(Mark::X) => 'X',
                Some(Mark::O) => 'O',
                None => '.',
            })
            .collect()
    }

    /// `mark` takes `cell`; returns the new status.
    pub fn play(&mut self, mark: Mark, cell: Cell) -> Result<Status, MoveError> {
        match self.status {
            Status::Next(next) if next != mark => return Err(MoveError::NotYourTurn { next }),
            Status::Next(_) => {}
            _ => return Err(MoveError::Over),
        }
        let slot = &mut self.cells[usize::from(cell.0)];
        if slot.is_some() {
            return Err(MoveError::Taken(cell));
        }
        *slot = Some(mark);
        self.status = if self.three_in_a_row(mark) {
            Status::Won(mark)
        } else if self.cells.iter().all(Option::is_some) {
            Status::Draw
        } else {
            Status::Next(mark.other())
        };
        Ok(self.status)
    }

    /// `mark` gives up, whoever's turn it is; returns the new status.
    pub fn resign(&mut self, mark: Mark) -> Result<Status, MoveError> {
        if self.status.is_over() {
            return Err(MoveError::Over);
        }
        self.status = Status::Resigned(mark);
        Ok(self.status)
    }

    fn three_in_a_row(&self, mark: Mark) -> bool {
        LINES
            .iter()
            .any(|line| line.iter().all(|&i| self.cells[i] == Some(mark)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(n: u32) -> Cell {
        Cell::from_number(n).unwrap()
    }

    /// Plays `moves` (cell numbers) alternately from X; returns the game
    /// and the status after the last one.
    fn played(moves: &[u32]) -> (Game, Status) {
        let mut game = Game::new();
        let mut mark = Mark::X;
        let mut status = game.status();
        for &n in moves {
            status = game.play(mark, cell(n)).expect("legal move");
            mark = mark.other();
        }
        (game, status)
    }

    #[test]
    fn cells_are_numbered_one_to_nine() {
        assert_eq!(Cell::from_number(0), None);
        assert_eq!(Cell::from_number(10), None);
        assert_eq!(cell(1).number(), 1);
        assert_eq!(cell(9).number(), 9);
    }

    #[test]
    fn a_new_game_is_empty_with_x_to_move() {
        let game = Game::new();
        assert_eq!(game.cells(), ".........");
        assert_eq!(game.status(), Status::Next(Mark::X));
    }

    #[test]
    fn every_row_column_and_diagonal_wins() {
        // X takes the line, O plays elsewhere (never completing a line of
        // its own before X does).
        let cases: [(&[u32], &str); 8] = [
            (&[1, 4, 2, 5, 3], "XXXOO...."),
            (&[4, 1, 5, 2, 6], "OO.XXX..."),
            (&[7, 1, 8, 2, 9], "OO....XXX"),
            (&[1, 2, 4, 3, 7], "XOOX..X.."),
            (&[2, 1, 5, 3, 8], "OXO.X..X."),
            (&[3, 1, 6, 2, 9], "OOX..X..X"),
            (&[1, 2, 5, 3, 9], "XOO.X...X"),
            (&[3, 1, 5, 2, 7], "OOX.X.X.."),
        ];
        for (moves, cells) in cases {
            let (game, status) = played(moves);
            assert_eq!(status, Status::Won(Mark::X), "{moves:?}");
            assert_eq!(game.cells(), cells, "{moves:?}");
        }
    }

    #[test]
    fn o_wins_too() {
        let (game, status) = played(&[1, 4, 2, 5, 9, 6]);
        assert_eq!(status, Status::Won(Mark::O));
        assert_eq!(game.cells(), "XX.OOO..X");
    }

    #[test]
    fn a_full_board_without_a_line_is_a_draw() {
        // X O X / X O O / O X X
        let (game, status) = played(&[1, 2, 3, 5, 4, 6, 8, 7, 9]);
        assert_eq!(game.cells(), "XOXXOOOXX");
        assert_eq!(status, Status::Draw);
    }

    #[test]
    fn a_win_on_the_last_cell_is_a_win_not_a_draw() {
        // O X O / X X X / O O X: the ninth move completes the middle row.
        let (game, status) = played(&[2, 1, 4, 3, 9, 7, 5, 8, 6]);
        assert_eq!(game.cells(), "OXOXXXOOX");
        assert_eq!(status, Status::Won(Mark::X));
    }

    #[test]
    fn turns_alternate_and_a_move_out_of_turn_changes_nothing() {
        let mut game = Game::new();
        assert_eq!(
            game.play(Mark::O, cell(5)),
            Err(MoveError::NotYourTurn { next: Mark::X })
        );
        assert_eq!(game.play(Mark::X, cell(5)), Ok(Status::Next(Mark::O)));
        assert_eq!(
            game.play(Mark::X, cell(1)),
            Err(MoveError::NotYourTurn { next: Mark::O })
        );
        assert_eq!(game.cells(), "....X....");
        assert_eq!(game.play(Mark::O, cell(1)), Ok(Status::Next(Mark::X)));
    }

    #[test]
    fn a_taken_cell_is_refused() {
        let mut game = Game::new();
        game.play(Mark::X, cell(5)).unwrap();
        assert_eq!(game.play(Mark::O, cell(5)), Err(MoveError::Taken(cell(5))));
        assert_eq!(game.cells(), "....X....");
        assert_eq!(game.status(), Status::Next(Mark::O));
    }

    #[test]
    fn nothing_is_played_after_the_end() {
        let (mut game, _) = played(&[1, 4, 2, 5, 3]);
        assert_eq!(game.play(Mark::O, cell(9)), Err(MoveError::Over));
        assert_eq!(game.resign(Mark::O), Err(MoveError::Over));
    }

    #[test]
    fn either_player_may_resign_at_any_turn() {
        let mut game = Game::new();
        assert_eq!(game.resign(Mark::O), Ok(Status::Resigned(Mark::O)));
        assert!(game.status().is_over());
        assert_eq!(game.play(Mark::X, cell(1)), Err(MoveError::Over));
    }
}
