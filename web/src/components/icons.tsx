// Inline SVG icons (stroke, currentColor). Decorative unless given a label.

import type { ReactNode } from 'react';

function Svg({ children, size = 18 }: { children: ReactNode; size?: number }) {
	return (
		<svg
			className="icon"
			width={size}
			height={size}
			viewBox="0 0 24 24"
			fill="none"
			stroke="currentColor"
			strokeWidth="2"
			strokeLinecap="round"
			strokeLinejoin="round"
			aria-hidden="true"
			focusable="false"
		>
			{children}
		</svg>
	);
}

export const IconUpload = () => (
	<Svg>
		<path d="M12 16V4" />
		<path d="m6 10 6-6 6 6" />
		<path d="M4 20h16" />
	</Svg>
);
export const IconMic = ({ size }: { size?: number }) => (
	<Svg size={size}>
		<rect x="9" y="3" width="6" height="11" rx="3" />
		<path d="M5 11a7 7 0 0 0 14 0" />
		<path d="M12 18v3" />
	</Svg>
);
export const IconTrash = () => (
	<Svg>
		<path d="M4 7h16" />
		<path d="M10 11v6M14 11v6" />
		<path d="M6 7l1 13h10l1-13" />
		<path d="M9 7V4h6v3" />
	</Svg>
);
export const IconPencil = () => (
	<Svg>
		<path d="M4 20h4L19 9l-4-4L4 16z" />
		<path d="m14 6 4 4" />
	</Svg>
);
export const IconCopy = () => (
	<Svg>
		<rect x="9" y="9" width="11" height="11" rx="2" />
		<path d="M5 15V5a2 2 0 0 1 2-2h8" />
	</Svg>
);
export const IconDownload = () => (
	<Svg>
		<path d="M12 4v12" />
		<path d="m6 10 6 6 6-6" />
		<path d="M4 20h16" />
	</Svg>
);
export const IconSearch = () => (
	<Svg>
		<circle cx="11" cy="11" r="7" />
		<path d="m20 20-4-4" />
	</Svg>
);
export const IconUp = () => (
	<Svg>
		<path d="m6 15 6-6 6 6" />
	</Svg>
);
export const IconDown = () => (
	<Svg>
		<path d="m6 9 6 6 6-6" />
	</Svg>
);
export const IconMenu = () => (
	<Svg>
		<path d="M4 7h16M4 12h16M4 17h16" />
	</Svg>
);
export const IconClose = () => (
	<Svg>
		<path d="M6 6l12 12M18 6 6 18" />
	</Svg>
);
export const IconFile = () => (
	<Svg>
		<path d="M14 3H6v18h12V7z" />
		<path d="M14 3v4h4" />
		<path d="M9 13h6M9 17h4" />
	</Svg>
);
export const IconKey = () => (
	<Svg>
		<circle cx="8" cy="15" r="4" />
		<path d="m11 12 9-9M17 6l3 3M15 8l2 2" />
	</Svg>
);
export const IconStop = () => (
	<Svg>
		<rect x="6" y="6" width="12" height="12" rx="2" />
	</Svg>
);
export const IconRetry = () => (
	<Svg>
		<path d="M4 12a8 8 0 1 0 3-6.2" />
		<path d="M4 4v5h5" />
	</Svg>
);
export const IconWave = ({ size }: { size?: number }) => (
	<Svg size={size}>
		<path d="M3 12h2M7 8v8M11 5v14M15 9v6M19 11v2M21 12h0" />
	</Svg>
);
export const IconHistory = () => (
	<Svg>
		<path d="M3 12a9 9 0 1 0 3-6.7" />
		<path d="M3 4v5h5" />
		<path d="M12 7v5l3 2" />
	</Svg>
);
